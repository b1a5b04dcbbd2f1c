package io.septum.policy.internal;

import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.NamedPort;
import io.septum.api.policy.CaseResult;
import io.septum.api.policy.Decision;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.HttpPolicy;
import io.septum.api.policy.HttpRequestInfo;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.ProbeResult;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.TestCase;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Judges a case's probes offline: egress at the source and ingress at the destination must both allow. A probe with
 * {@code dns: NAME} first looks the name up at the case's first {@code dns: true} endpoint (UDP 53); the probe is
 * denied when that lookup is. As in the agent, a lookup that DNS rules govern goes through the DNS proxy, and the
 * addresses it returns then carry {@code fqdn:NAME} for the later probes of the case, which {@code toFQDNs} rules
 * match; a lookup no DNS rule governs is not proxied and teaches {@code toFQDNs} nothing (Cilium's semantics).
 */
final class CaseEvaluator {
    /**
     * A probe's party: an endpoint (with policy of its own) or an external host (world, no policy).
     *
     * @param ports its named ports, on which rules that name a port resolve when it is the destination
     */
    record Party(String name, Labels labels, boolean managed, List<NamedPort> ports) {
    }

    /** Resolves probe names: {@code ns/name}, or a bare name when it is unique. */
    static final class Names {
        private final TestCase tc;

        Names(TestCase tc) {
            this.tc = tc;
        }

        String problem(String ref) {
            if (ref == null) return "missing name";
            List<Object> found = find(ref);
            if (found.isEmpty()) return "no endpoint or external host named \"" + ref + "\"";
            if (found.size() > 1) return "\"" + ref + "\" names several endpoints: write namespace/name";
            return null;
        }

        List<Object> find(String ref) {
            List<Object> out = new ArrayList<>();
            for (TestCase.Endpoint e : tc.endpoints()) {
                if (e.qualifiedName().equals(ref) || (!ref.contains("/") && e.name().equals(ref))) out.add(e);
            }
            for (TestCase.External x : tc.external()) if (ref.equals(x.name())) out.add(x);
            return out;
        }

        Party party(String ref) {
            List<Object> found = find(ref);
            if (found.size() != 1) throw new IllegalArgumentException(problem(ref));
            Object o = found.get(0);
            if (o instanceof TestCase.Endpoint e) {
                return new Party(e.qualifiedName(), endpointLabels(e, tc.namespaces()), true, e.namedPorts());
            }
            TestCase.External x = (TestCase.External) o;
            return new Party(x.name(), externalLabels(x.ip()), false, List.of());
        }
    }

    /** An endpoint's labels as the agent sets them: its own (source k8s), the namespace label, namespace labels. */
    static Labels endpointLabels(TestCase.Endpoint e, Map<String, Map<String, String>> namespaces) {
        List<Label> out = new ArrayList<>();
        e.labels().forEach((k, v) -> {
            // the agent owns these keys: a workload's own label cannot move it to another namespace (CVE-2023-39347)
            if (!k.equals(Labels.NAMESPACE_KEY) && !k.startsWith(Labels.NAMESPACE_LABELS_PREFIX)) {
                out.add(new Label(Label.K8S, k, v));
            }
        });
        out.add(new Label(Label.K8S, Labels.NAMESPACE_KEY, e.namespace()));
        namespaces.getOrDefault(e.namespace(), Map.of())
                .forEach((k, v) -> out.add(new Label(Label.K8S, Labels.NAMESPACE_LABELS_PREFIX + k, v)));
        return Labels.of(out);
    }

    /** A host outside the cluster: its /32 (or /128) CIDR identity, which belongs to the world. */
    static Labels externalLabels(String ip) {
        Cidr host = Cidr.parse(ip);
        return Labels.of(new Label(Label.CIDR, host.toString(), ""), Label.reserved("world"));
    }

    /** Where a case's DNS endpoint answers. */
    static final int DNS_PORT = 53;

    private final TestCase tc;
    private final PolicySet set;
    private final EnforcementMode mode;

    CaseEvaluator(TestCase tc, PolicySet set, EnforcementMode mode) {
        this.tc = tc;
        this.set = set;
        this.mode = mode;
    }

    /** A lookup's outcome: allowed, or the decision that refused it and why. */
    private record Lookup(boolean allowed, Decision decision, String note) {
    }

    /** Addresses to the names proxied lookups returned them for, over the probes of one run. */
    private final Map<String, Set<String>> learned = new HashMap<>();

    CaseResult run() {
        Names names = new Names(tc);
        List<ProbeResult> results = new ArrayList<>();
        for (TestCase.Probe p : tc.probes()) {
            Party from = names.party(p.from());
            Protocol proto = Protocol.parse(p.protocol());
            String dnsNote = "";
            if (p.dns() != null) {
                Lookup l = lookup(names, from, p.dns());
                if (!l.allowed()) {
                    results.add(new ProbeResult(p.from(), p.to(), p.port(), proto.toString(), p.expect(), "deny",
                            l.decision().rule(), "deny".equals(p.expect()), l.note()));
                    continue;
                }
                dnsNote = l.note();
            }
            Party to = learnedNames(names.party(p.to()));
            Decision egress = from.managed()
                    ? set.decide(Direction.EGRESS, from.labels(), to.labels(), to.ports(), p.port(), proto, mode)
                    : new Decision(true, "external host (no policy)", 0, false);
            Decision ingress = to.managed()
                    ? set.decide(Direction.INGRESS, to.labels(), from.labels(), to.ports(), p.port(), proto, mode)
                    : new Decision(true, "external host (no policy)", 0, false);
            boolean allowed = egress.allowed() && ingress.allowed();
            Decision deciding;
            if (!egress.allowed()) deciding = egress;
            else if (!ingress.allowed()) deciding = ingress;
            else if (ingress.ruleId() != 0) deciding = ingress;
            else if (egress.ruleId() != 0) deciding = egress;
            else deciding = to.managed() ? ingress : egress;
            String note = "";
            HttpRequestInfo request = request(p.http());
            if (request != null && allowed && proto == Protocol.TCP) {
                // the same order as on the wire: the client's egress proxy first, then the server's ingress one
                Decision l7 = null;
                if (from.managed()) {
                    l7 = judge(set.httpPolicy(Direction.EGRESS, from.labels(), to.labels(), to.ports(), p.port(), mode),
                            request);
                }
                if (to.managed() && (l7 == null || l7.allowed())) {
                    Decision in = judge(set.httpPolicy(Direction.INGRESS, to.labels(), from.labels(), to.ports(),
                            p.port(), mode), request);
                    if (in != null) l7 = in;
                }
                if (l7 == null) {
                    note = "no L7 rule governs port " + p.port() + ": judged at L3/L4";
                } else {
                    allowed = l7.allowed();
                    deciding = l7;
                    note = "L7 " + request.method() + " " + request.path() + ": "
                            + (l7.allowed() ? "allowed" : "HTTP 403 Access denied");
                }
            } else if (request != null && !allowed) {
                note = "dropped at L3/L4: the request is never sent";
            }
            if (p.portName() != null) note = "port " + p.portName() + " of " + to.name() + " is " + p.port()
                    + (note.isEmpty() ? "" : "; " + note);
            if (!dnsNote.isEmpty()) note = dnsNote + (note.isEmpty() ? "" : "; " + note);
            String verdict = allowed ? "allow" : "deny";
            results.add(new ProbeResult(p.from(), p.to(), p.port(), proto.toString(), p.expect(), verdict,
                    deciding.rule(), verdict.equals(p.expect()), note));
        }
        return CaseResult.of(tc.name(), results);
    }

    /**
     * The lookup of {@code name} by {@code from} at the case's DNS endpoint: UDP 53 allowed by the source's egress
     * and the server's ingress, the name admitted by the DNS rules that govern the path (if any), and an external
     * host that has that name.
     */
    private Lookup lookup(Names names, Party from, String name) {
        TestCase.Endpoint server = tc.endpoints().stream().filter(TestCase.Endpoint::dns).findFirst().orElse(null);
        if (server == null) {
            return new Lookup(false, new Decision(false, "no DNS server", 0, false),
                    "the case has no dns: true endpoint to look up " + name + " at");
        }
        Party srv = names.party(server.qualifiedName());
        String what = "DNS lookup of " + name + " at " + srv.name();
        Decision egress = from.managed()
                ? set.decide(Direction.EGRESS, from.labels(), srv.labels(), srv.ports(), DNS_PORT, Protocol.UDP, mode)
                : new Decision(true, "external host (no policy)", 0, false);
        if (!egress.allowed()) return new Lookup(false, egress, what + ": dropped at the source's egress (UDP 53)");
        Decision ingress = set.decide(Direction.INGRESS, srv.labels(), from.labels(), List.of(), DNS_PORT,
                Protocol.UDP, mode);
        if (!ingress.allowed()) return new Lookup(false, ingress, what + ": dropped at the server's ingress (UDP 53)");
        DnsPolicyImpl rules = from.managed() && set instanceof PolicySetImpl impl
                ? impl.dns(Direction.EGRESS, from.labels(), srv.labels(), srv.ports(), DNS_PORT, mode) : null;
        if (rules != null) {
            Decision d = rules.decide(name);
            if (!d.allowed()) return new Lookup(false, d, what + ": REFUSED by the DNS proxy (" + d.rule() + ")");
        }
        List<String> addresses = tc.external().stream().filter(x -> name.equals(x.fqdn())).map(TestCase.External::ip)
                .toList();
        if (addresses.isEmpty()) {
            return new Lookup(false, new Decision(false, "NXDOMAIN", 0, false), what + ": NXDOMAIN (no external host"
                    + " has that fqdn)");
        }
        if (rules != null) addresses.forEach(a -> learned.computeIfAbsent(a, k -> new HashSet<>()).add(name));
        return new Lookup(true, null, what + ": " + String.join(", ", addresses)
                + (rules == null ? " (not proxied: no DNS rule governs it)" : " (via the DNS proxy)"));
    }

    /** An external host's party with the names proxied lookups returned its address for. */
    private Party learnedNames(Party p) {
        if (p.managed()) return p;
        TestCase.External x = tc.external().stream().filter(e -> e.name().equals(p.name())).findFirst().orElse(null);
        Set<String> learnedFor = x == null ? Set.of() : learned.getOrDefault(x.ip(), Set.of());
        if (learnedFor.isEmpty()) return p;
        List<Label> labels = new ArrayList<>(p.labels().asList());
        for (String n : learnedFor) labels.add(new Label(Label.FQDN, n, ""));
        return new Party(p.name(), Labels.of(labels), false, p.ports());
    }

    private static Decision judge(Optional<HttpPolicy> policy, HttpRequestInfo request) {
        return policy.map(h -> h.decide(request)).orElse(null);
    }

    /**
     * A probe's {@code http} map as a request: {@code method} (default GET), {@code path} (default /),
     * {@code host}, and {@code headers} ("Name: value" lines, as {@link CaseParser} stores them).
     */
    static HttpRequestInfo request(Map<String, String> http) {
        if (http == null) return null;
        String method = http.getOrDefault("method", "");
        String path = http.getOrDefault("path", "");
        String host = http.get("host");
        Map<String, List<String>> headers = new LinkedHashMap<>();
        String hs = http.get("headers");
        if (hs != null) {
            for (String line : hs.split("\n")) {
                int c = line.indexOf(':');
                if (c <= 0) continue;
                headers.computeIfAbsent(line.substring(0, c).strip().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                        .add(line.substring(c + 1).strip());
            }
        }
        if (host != null && !host.isEmpty()) headers.putIfAbsent("host", List.of(host));
        if ((host == null || host.isEmpty()) && headers.containsKey("host")) host = headers.get("host").get(0);
        return new HttpRequestInfo(method.isEmpty() ? "GET" : method, path.isEmpty() ? "/" : path,
                host == null || host.isEmpty() ? null : host, headers);
    }
}
