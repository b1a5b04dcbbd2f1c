package io.septum.observer.internal;

import io.septum.api.Endpoint;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowObserver;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * {@code policy suggest}: a CiliumNetworkPolicy allowing exactly the connections observed at one endpoint.
 *
 * <p>Only flows that the endpoint's own interface saw count ({@code endpoint_id}), and of them the connection
 * openings that passed: {@code policy-verdict} flows FORWARDED or AUDIT, never replies. Dropped flows are left out:
 * the suggestion describes what the endpoint did, not what it tried. A peer that is an endpoint is selected by its
 * identity labels minus volatile ones; a peer outside (the world) by its address as a /32 or /128 CIDR; the host
 * and other reserved identities as entities. Ports are the destination ports with their protocol. Both directions
 * are always written, with an empty rule {@code {}} when nothing was observed, so that each is enforced (default
 * deny) and nothing unobserved passes. ICMP and ICMPv6 messages become {@code icmps} rules of their types (a rule of
 * their own: Cilium does not mix them with {@code toPorts}); other portless protocols cannot be written without
 * allowing every port of the peer: they are listed in an annotation instead.
 *
 * <p>Where the L7 proxy judged HTTP requests of a connection (it was {@code REDIRECTED}), the port gets HTTP rules:
 * each method and path the proxy forwarded, the path as an anchored RE2 pattern matching exactly that path (the
 * query left out, as Cilium matches paths). Requests it refused stay out. A redirected port without a forwarded
 * request keeps its L3/L4 rule.
 */
final class Suggester {
    /** Labels that change per instance (pods of a Deployment, Jobs) or that the agent derives: never selected on. */
    static final List<String> VOLATILE_KEYS = List.of("pod-template-hash", "controller-revision-hash",
            "pod-template-generation", "statefulset.kubernetes.io/pod-name", "controller-uid", "job-name",
            "batch.kubernetes.io/", "io.cilium.k8s.namespace.labels.", "io.cilium.k8s.policy.",
            "com.docker.compose.config-hash", "com.docker.compose.container-number", "com.docker.compose.version",
            "com.docker.compose.oneoff", "org.opencontainers.image.");
    static final String NAMESPACE_LABEL = "k8s:io.kubernetes.pod.namespace";

    private final FlowObserver flows;
    private final Function<String, Optional<Endpoint>> endpoints;

    Suggester(FlowObserver flows, Function<String, Optional<Endpoint>> endpoints) {
        this.flows = flows;
        this.endpoints = endpoints;
    }

    Map<String, Object> suggest(String endpoint, Instant since) {
        Endpoint ep = endpoints.apply(endpoint).orElseThrow(() -> new NoSuchElementException("no endpoint \"" + endpoint
                + "\" (an id, namespace/name, or a name that is unique)"));
        FlowFilter.Builder fb = FlowFilter.builder();
        if (since != null) fb.since(since.getEpochSecond() * 1_000_000_000L + since.getNano());
        List<Flow> seen = new ArrayList<>();
        List<Flow> requests = new ArrayList<>();
        for (Flow f : flows.query(fb.build(), 0)) {
            if (f.endpointId() != ep.id() || f.isReply()) continue;
            if (Flow.TYPE_L7.equals(f.eventType())) {
                if (Flow.FORWARDED.equals(f.verdict()) && f.l7() != null && f.l7().http() != null) requests.add(f);
                continue;
            }
            if (!Flow.TYPE_POLICY_VERDICT.equals(f.eventType())) continue;
            if (!Flow.FORWARDED.equals(f.verdict()) && !Flow.AUDIT.equals(f.verdict()) && !Flow.REDIRECTED.equals(f.verdict())) continue;
            seen.add(f);
        }
        if (seen.isEmpty()) {
            throw new IllegalStateException("no connection of endpoint " + ep.qualifiedName() + " was observed"
                    + (since == null ? "" : " since " + since) + "; let it run (audit mode helps) and try again");
        }
        // direction -> peer (as its YAML tree) -> "proto/port"
        Map<String, Map<String, Peer>> rules = new TreeMap<>();
        Set<String> skipped = new TreeSet<>();
        for (Flow f : seen) {
            boolean ingress = "INGRESS".equals(f.trafficDirection());
            FlowEndpoint peer = ingress ? f.source() : f.destination();
            String peerIp = f.ip() == null ? null : ingress ? f.ip().source() : f.ip().destination();
            String proto = f.l4() == null ? null : f.l4().protocol();
            Peer p = peer(peer, peerIp, ingress);
            if (p == null) {
                skipped.add((ingress ? "from " : "to ") + peerIp + ": peer not describable");
                continue;
            }
            boolean icmp = "ICMP".equals(proto) || "ICMPv6".equals(proto);
            if (proto == null || !(icmp || proto.equals("TCP") || proto.equals("UDP") || proto.equals("SCTP"))) {
                skipped.add((ingress ? "from " : "to ") + p.describe + " " + (proto == null ? "non-IP" : proto));
                continue;
            }
            Peer held = rules.computeIfAbsent(ingress ? "ingress" : "egress", k -> new LinkedHashMap<>())
                    .computeIfAbsent(p.key, k -> p);
            // an ICMP flow's "port" is its type (the datapath's policy key), written as icmps
            if (icmp) held.icmpTypes.add(f.l4().destinationPort() + "/" + (proto.equals("ICMP") ? "IPv4" : "IPv6"));
            else held.ports.add(f.l4().destinationPort() + "/" + proto);
        }
        for (Flow f : requests) {
            boolean ingress = "INGRESS".equals(f.trafficDirection());
            Peer p = peer(ingress ? f.source() : f.destination(), f.ip() == null ? null : ingress ? f.ip().source() : f.ip().destination(), ingress);
            Peer held = p == null ? null : rules.getOrDefault(ingress ? "ingress" : "egress", Map.of()).get(p.key);
            String port = f.l4() == null ? null : f.l4().destinationPort() + "/TCP";
            // only on a port whose connections were seen passing to the proxy: an L7 rule narrows, it never opens
            if (held == null || !held.ports.contains(port)) continue;
            held.http.computeIfAbsent(port, k -> new TreeSet<>()).add(f.l7().http().method() + " " + path(f.l7().http().url()));
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("apiVersion", "cilium.io/v2");
        doc.put("kind", "CiliumNetworkPolicy");
        Map<String, Object> md = new LinkedHashMap<>();
        md.put("name", dnsName("suggested-" + ep.name()));
        md.put("namespace", ep.namespace());
        Map<String, String> ann = new LinkedHashMap<>();
        ann.put("policy.septum.io/suggested-from", seen.size() + " flows of " + ep.qualifiedName()
                + (since == null ? "" : " since " + since));
        if (!skipped.isEmpty()) ann.put("policy.septum.io/suggest-skipped", String.join("; ", skipped));
        md.put("annotations", ann);
        doc.put("metadata", md);
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("endpointSelector", Map.of("matchLabels", selectorLabels(ep.labels(), false)));
        for (String dir : List.of("ingress", "egress")) {
            List<Object> list = new ArrayList<>();
            for (Peer p : rules.getOrDefault(dir, Map.of()).values()) list.addAll(p.rules(dir.equals("ingress")));
            if (list.isEmpty()) list.add(Map.of()); // enforce the direction: nothing was observed, nothing passes
            spec.put(dir, list);
        }
        doc.put("spec", spec);
        return doc;
    }

    /** A peer and the ports seen with it. */
    private static final class Peer {
        final String key;
        final String describe;
        final String field; // Endpoints, CIDR, Entities (after from/to)
        final Object value;
        final Set<String> ports = new TreeSet<>();
        /** "type/family" of the ICMP messages seen. */
        final Set<String> icmpTypes = new TreeSet<>();
        /** "port/TCP" -> "METHOD /path" of the HTTP requests the proxy forwarded there. */
        final Map<String, Set<String>> http = new TreeMap<>();

        Peer(String key, String describe, String field, Object value) {
            this.key = key;
            this.describe = describe;
            this.field = field;
            this.value = value;
        }

        /** One rule for the ports and one for the ICMP types: a rule cannot hold both (as in Cilium). */
        List<Map<String, Object>> rules(boolean ingress) {
            List<Map<String, Object>> out = new ArrayList<>();
            List<Object> plain = new ArrayList<>();
            List<Object> withHttp = new ArrayList<>();
            for (String pp : ports) {
                String[] a = pp.split("/");
                Map<String, Object> port = Map.of("port", a[0], "protocol", a[1]);
                Set<String> requests = http.get(pp);
                if (requests == null) {
                    plain.add(port);
                    continue;
                }
                List<Object> rs = new ArrayList<>();
                for (String r : requests) {
                    int sp = r.indexOf(' ');
                    rs.add(Map.of("method", r.substring(0, sp), "path", "^" + re2Literal(r.substring(sp + 1)) + "$"));
                }
                withHttp.add(Map.of("ports", List.of(port), "rules", Map.of("http", rs)));
            }
            if (!plain.isEmpty()) withHttp.add(0, Map.of("ports", plain));
            if (!withHttp.isEmpty()) out.add(rule(ingress, "toPorts", withHttp));
            if (!icmpTypes.isEmpty()) {
                List<Object> fields = new ArrayList<>();
                for (String t : icmpTypes) {
                    String[] a = t.split("/");
                    fields.add(Map.of("type", Integer.parseInt(a[0]), "family", a[1]));
                }
                out.add(rule(ingress, "icmps", List.of(Map.of("fields", fields))));
            }
            return out;
        }

        private Map<String, Object> rule(boolean ingress, String l4Field, Object l4) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put((ingress ? "from" : "to") + field, List.of(value));
            r.put(l4Field, l4);
            return r;
        }
    }

    /** The path of a URL as the proxy records it ({@code http://host/path?query}): {@code /path}. */
    static String path(String url) {
        String u = url == null ? "" : url;
        int scheme = u.indexOf("://");
        if (scheme >= 0) {
            int slash = u.indexOf('/', scheme + 3);
            u = slash < 0 ? "/" : u.substring(slash);
        }
        int q = u.indexOf('?');
        if (q >= 0) u = u.substring(0, q);
        return u.isEmpty() ? "/" : u;
    }

    /** {@code s} as an RE2 pattern that matches exactly it. */
    static String re2Literal(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if ("\\.+*?()|[]{}^$".indexOf(c) >= 0) b.append('\\');
            b.append(c);
        }
        return b.toString();
    }

    private static Peer peer(FlowEndpoint peer, String ip, boolean ingress) {
        List<String> labels = peer == null ? List.of() : peer.labels();
        for (String l : labels) {
            if (l.equals("reserved:host")) return new Peer("entity:host", "host", "Entities", "host");
        }
        boolean world = labels.isEmpty() || labels.stream().anyMatch(l -> l.equals("reserved:world") || l.startsWith("cidr:"));
        if (world || labels.stream().allMatch(l -> l.startsWith("reserved:"))) {
            if (ip == null) return null;
            String cidr = ip + (ip.contains(":") ? "/128" : "/32");
            return new Peer("cidr:" + cidr, cidr, "CIDR", cidr);
        }
        Map<String, String> sel = selectorLabels(labels, true);
        if (sel.isEmpty()) return null;
        return new Peer("ep:" + sel, String.valueOf(sel), "Endpoints", Map.of("matchLabels", sel));
    }

    /** {@code source:key=value} labels as matchLabels, without volatile ones; the namespace label only for peers. */
    static Map<String, String> selectorLabels(List<String> labels, boolean withNamespace) {
        Map<String, String> out = new TreeMap<>();
        for (String l : labels) {
            int eq = l.indexOf('=');
            String key = eq < 0 ? l : l.substring(0, eq);
            String value = eq < 0 ? "" : l.substring(eq + 1);
            if (key.startsWith("reserved:") || key.startsWith("cidr:")) continue;
            if (key.equals(NAMESPACE_LABEL)) {
                if (withNamespace) out.put(key, value);
                continue;
            }
            String bare = key.substring(key.indexOf(':') + 1);
            if (VOLATILE_KEYS.stream().anyMatch(v -> v.endsWith("/") || v.endsWith(".") ? bare.startsWith(v) : bare.equals(v))) {
                continue;
            }
            out.put(key, value);
        }
        return out;
    }

    private static String dnsName(String s) {
        String n = s.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9.-]", "-");
        return n.length() > 63 ? n.substring(0, 63) : n;
    }
}
