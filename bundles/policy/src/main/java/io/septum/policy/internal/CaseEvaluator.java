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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** Judges a case's probes offline: egress at the source and ingress at the destination must both allow. */
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

    private final TestCase tc;
    private final PolicySet set;
    private final EnforcementMode mode;

    CaseEvaluator(TestCase tc, PolicySet set, EnforcementMode mode) {
        this.tc = tc;
        this.set = set;
        this.mode = mode;
    }

    CaseResult run() {
        Names names = new Names(tc);
        List<ProbeResult> results = new ArrayList<>();
        for (TestCase.Probe p : tc.probes()) {
            Party from = names.party(p.from());
            Party to = names.party(p.to());
            Protocol proto = Protocol.parse(p.protocol());
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
                    l7 = judge(set.httpPolicy(Direction.EGRESS, from.labels(), to.labels(), p.port(), mode), request);
                }
                if (to.managed() && (l7 == null || l7.allowed())) {
                    Decision in = judge(set.httpPolicy(Direction.INGRESS, to.labels(), from.labels(), p.port(), mode),
                            request);
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
            String verdict = allowed ? "allow" : "deny";
            results.add(new ProbeResult(p.from(), p.to(), p.port(), proto.toString(), p.expect(), verdict,
                    deciding.rule(), verdict.equals(p.expect()), note));
        }
        return CaseResult.of(tc.name(), results);
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
