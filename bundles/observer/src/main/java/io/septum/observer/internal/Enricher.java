package io.septum.observer.internal;

import io.septum.api.Endpoint;
import io.septum.api.EndpointSnapshot;
import io.septum.api.Identity;
import io.septum.api.Labels;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.datapath.DropReason;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import io.septum.api.policy.RuleRef;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Turns a datapath event into a {@link Flow}: names both sides (the observing endpoint by its id, the peer by its
 * address), gives labels (the endpoint's, else its identity's), and names the deciding rule and its match type.
 * Endpoints come from the endpoint index's newest snapshot (hash lookups, no listing); the policy entries that
 * give the match type are cached for {@code cacheNanos}.
 */
final class Enricher {
    /** Addresses remembered at most: flows from many outside peers must not grow it without bound. */
    private static final int MAX_REMEMBERED_IPS = 4096;
    /** What the enricher asks the agent; the component answers from its services, tests from maps. */
    interface Lookup {
        /** The endpoint index's newest snapshot. */
        EndpointSnapshot endpoints();

        Optional<Identity> identity(long id);

        Optional<RuleRef> rule(int id);

        /** The endpoint's policy map entries, for the match type; empty when unknown. */
        List<BpfPolicyEntry> policy(long endpointId);
    }

    private final Lookup lookup;
    private final long cacheNanos;
    private final Map<Long, CachedPolicy> policies = new HashMap<>();
    /** Addresses looked up in {@link #byIpOf}, and what it answered (empty: no endpoint has the address). */
    private final Map<String, Optional<Endpoint>> byIp = new HashMap<>();
    private EndpointSnapshot byIpOf;

    private record CachedPolicy(long at, List<BpfPolicyEntry> entries) {
    }

    Enricher(Lookup lookup, long cacheNanos) {
        this.lookup = lookup;
        this.cacheNanos = cacheNanos;
    }

    Flow enrich(DatapathEvent e) {
        return enrich(e, null);
    }

    /** The event as a flow observed on {@code nodeName} (null: none yet; the observer stamps it when it stores). */
    Flow enrich(DatapathEvent e, String nodeName) {
        long now = System.nanoTime();
        EndpointSnapshot snap = safe(lookup::endpoints);
        if (snap == null) snap = EndpointSnapshot.EMPTY;
        if (snap != byIpOf) {
            byIpOf = snap;
            byIp.clear();
        }
        boolean ingress = "INGRESS".equalsIgnoreCase(e.direction());
        Endpoint self = snap.byId(e.endpointId()).orElse(null);
        Endpoint src = ingress ? byIp(snap, e.srcIp()) : self;
        Endpoint dst = ingress ? self : byIp(snap, e.dstIp());
        if (self == null) {
            // the event names the endpoint; its address identifies it even when the id is unknown to the manager
            if (ingress && dst == null) dst = byIp(snap, e.dstIp());
            if (!ingress && src == null) src = byIp(snap, e.srcIp());
        }
        FlowEndpoint source = side(src, e.srcIdentity(), ingress ? 0 : e.endpointId());
        FlowEndpoint destination = side(dst, e.dstIdentity(), ingress ? e.endpointId() : 0);

        Optional<RuleRef> rule = e.ruleId() == 0 ? Optional.empty() : safeOpt(() -> lookup.rule(e.ruleId()));
        String verdict = e.verdict() == null ? Flow.FORWARDED : e.verdict().toUpperCase(java.util.Locale.ROOT);
        String type = e.type() == null ? Flow.TYPE_POLICY_VERDICT : e.type();
        String ruleText = rule.map(RuleRef::display).orElseGet(() -> why(e, verdict, ingress));
        String match = matchType(e, rule.orElse(null), verdict, ingress, now);
        String proto = e.protocol() == null ? "" : e.protocol();
        List<String> flags = "TCP".equalsIgnoreCase(proto) ? FlowL4.tcpFlags(e.tcpFlags()) : List.of();
        String ipVersion = e.srcIp() != null && e.srcIp().contains(":") ? "IPv6" : "IPv4";
        String point = Flow.REDIRECTED.equals(verdict) ? Flow.TO_PROXY : ingress ? Flow.TO_ENDPOINT : Flow.FROM_ENDPOINT;
        return new Flow(null, e.timestampNanos(), verdict, e.dropReason(),
                e.dropReason() == 0 ? null : DropReason.byCode(e.dropReason()).name(),
                new FlowIp(e.srcIp(), e.dstIp(), ipVersion),
                new FlowL4(proto, e.srcPort(), e.dstPort(), flags),
                source, destination, "L3_L4", type, ingress ? "INGRESS" : "EGRESS", point, match,
                e.endpointId(), e.ruleId(), rule.map(RuleRef::policy).orElse(null), ruleText, e.reply(), null, nodeName);
    }

    /** Why no rule decided: the datapath's default for the direction. */
    private static String why(DatapathEvent e, String verdict, boolean ingress) {
        if (e.reply()) return "reply of a tracked connection";
        if (Flow.DROPPED.equals(verdict) || Flow.AUDIT.equals(verdict)) {
            return e.dropReason() == DropReason.POLICY_DENIED.code() || e.dropReason() == 0
                    ? "default deny: no rule allows" : DropReason.byCode(e.dropReason()).description();
        }
        return "no rule selects endpoint for " + (ingress ? "ingress" : "egress") + " (default allow)";
    }

    /**
     * Cilium's match types, read from the policy entry that carries the rule: a specific identity and a port is
     * L3-L4, an identity on any port L3-Only, any identity on a port L4-Only, any identity on any port all.
     */
    private String matchType(DatapathEvent e, RuleRef rule, String verdict, boolean ingress, long now) {
        if (rule == null || e.ruleId() == 0) return Flow.MATCH_NONE;
        if (rule.hasL7() && Flow.REDIRECTED.equals(verdict)) return Flow.MATCH_L7;
        long remote = ingress ? e.srcIdentity() : e.dstIdentity();
        String dir = ingress ? "INGRESS" : "EGRESS";
        BpfPolicyEntry best = null;
        for (BpfPolicyEntry p : policy(e.endpointId(), now)) {
            if (p.ruleId() != e.ruleId() || !dir.equalsIgnoreCase(p.direction())) continue;
            if (p.identity() != remote && p.identity() != 0) continue;
            if (best == null || (best.identity() == 0 && p.identity() != 0)) best = p;
        }
        if (best == null) return e.dstPort() > 0 ? Flow.MATCH_L3_L4 : Flow.MATCH_L3_ONLY;
        boolean anyPort = best.ports() == null || best.ports().equals("*") || best.ports().equals("0");
        if (best.identity() != 0) return anyPort ? Flow.MATCH_L3_ONLY : Flow.MATCH_L3_L4;
        return anyPort ? Flow.MATCH_ALL : Flow.MATCH_L4_ONLY;
    }

    private List<BpfPolicyEntry> policy(long endpointId, long now) {
        CachedPolicy c = policies.get(endpointId);
        if (c == null || now - c.at() > cacheNanos) {
            List<BpfPolicyEntry> entries = safe(() -> lookup.policy(endpointId));
            c = new CachedPolicy(now, entries == null ? List.of() : entries);
            policies.put(endpointId, c);
            if (policies.size() > 4096) policies.clear();
        }
        return c.entries();
    }

    private FlowEndpoint side(Endpoint ep, long identity, long observingId) {
        if (ep != null) return new FlowEndpoint(ep.id(), ep.identity() != 0 ? ep.identity() : identity, ep.namespace(),
                ep.name(), ep.labels());
        Optional<Identity> id = identity == 0 ? Optional.empty() : safeOpt(() -> lookup.identity(identity));
        List<String> labels = id.map(Identity::labels).orElse(List.of());
        String ns = id.map(i -> Labels.parse(i.labels(), "any").namespace().orElse(null)).orElse(null);
        return new FlowEndpoint(observingId, identity, ns, null, labels);
    }

    /**
     * The snapshot's endpoint with this address, remembered until the snapshot changes: a flow's addresses repeat,
     * and the snapshot parses each one it is asked for.
     */
    private Endpoint byIp(EndpointSnapshot snap, String ip) {
        if (ip == null) return null;
        Optional<Endpoint> ep = byIp.get(ip);
        if (ep == null) {
            ep = snap.byIp(ip);
            if (byIp.size() >= MAX_REMEMBERED_IPS) byIp.clear();
            byIp.put(ip, ep);
        }
        return ep.orElse(null);
    }

    /** A lookup whose service is gone or failing leaves the field empty: a flow is never lost for a name. */
    private static <T> T safe(java.util.function.Supplier<T> s) {
        try {
            return s.get();
        } catch (RuntimeException ex) {
            return null;
        }
    }

    private static <T> Optional<T> safeOpt(SupplierOpt<T> s) {
        try {
            Optional<T> o = s.get();
            return o == null ? Optional.empty() : o;
        } catch (RuntimeException ex) {
            return Optional.empty();
        }
    }

    @FunctionalInterface
    private interface SupplierOpt<T> {
        Optional<T> get();
    }
}
