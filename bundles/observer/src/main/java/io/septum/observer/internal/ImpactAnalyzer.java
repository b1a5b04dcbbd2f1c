package io.septum.observer.internal;

import io.septum.api.Endpoint;
import io.septum.api.Identity;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.NamedPort;
import io.septum.api.ReservedIdentity;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.ImpactReport;
import io.septum.api.flow.ImpactReport.ImpactFlow;
import io.septum.api.flow.PolicyDiff;
import io.septum.api.flow.PolicyDiff.EndpointChange;
import io.septum.api.flow.PolicyDiff.PolicyChange;
import io.septum.api.policy.EndpointPolicy;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.HttpRequestInfo;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.TraceResult;
import io.septum.support.text.LineDiff;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Judges a draft policy set against recorded flows ({@code policy impact}) and against the policies in force and
 * the live endpoints ({@code policy diff}), with the same semantics the agent enforces ({@link PolicySet#trace},
 * {@link PolicySet#resolve}). It reads; it never changes the repository.
 *
 * <p>A recorded flow becomes a connection key: source and destination identity labels (a peer outside the
 * cluster as {@code cidr:<ip>/32} plus {@code reserved:world}, as the policy semantics describe it), protocol,
 * destination port, and for L7 requests the method and path. The egress flow at the source and the ingress flow at
 * the destination of one connection share a key, so each connection is judged once.
 */
final class ImpactAnalyzer {
    /** The most flows one impact query reads (the newest of the window): the flow store answers with a list, held in
     *  the heap (about 1.7 KiB a flow), and the agent runs with a 256 MiB heap. */
    static final int MAX_FLOWS = 20_000;

    /** What the analyzer reads: each supplier is called once per question, for a consistent view. */
    record Inputs(FlowObserver flows, Supplier<PolicySet> inForce, Supplier<EnforcementMode> mode,
                  Supplier<List<PolicyInfo>> policies, Supplier<List<Endpoint>> endpoints,
                  Supplier<Collection<Identity>> identities) {
    }

    private final Inputs in;

    ImpactAnalyzer(Inputs in) {
        this.in = in;
    }

    ImpactReport impact(PolicySet draft, Instant since) {
        PolicySet before = in.inForce().get();
        PolicySet after = before.merge(draft, before.policies().size() + 1L);
        EnforcementMode mode = in.mode().get();
        Map<Long, Identity> identities = byId(in.identities().get());
        // a rule that names a port resolves it on the destination, as the datapath does there
        Map<Long, List<NamedPort>> ports = new HashMap<>();
        for (Endpoint ep : in.endpoints().get()) ports.put(ep.id(), ep.namedPorts());

        FlowFilter.Builder fb = FlowFilter.builder();
        if (since != null) fb.since(since.getEpochSecond() * 1_000_000_000L + since.getNano());
        List<Flow> recorded = in.flows().query(fb.build(), MAX_FLOWS);
        Map<Key, Seen> seen = new LinkedHashMap<>();
        for (Flow f : recorded) {
            Key k = key(f, identities, ports);
            if (k == null) continue;
            seen.computeIfAbsent(k, x -> new Seen()).add(f);
        }
        List<ImpactFlow> out = new ArrayList<>();
        int dropped = 0;
        int allowed = 0;
        int same = 0;
        for (Map.Entry<Key, Seen> e : seen.entrySet()) {
            Key k = e.getKey();
            TraceResult b = k.judge(before, mode);
            TraceResult a = k.judge(after, mode);
            String ob = outcome(b, k.method != null);
            String oa = outcome(a, k.method != null);
            String change;
            if (!ob.equals(ImpactReport.DROPPED) && oa.equals(ImpactReport.DROPPED)) {
                change = ImpactReport.NEWLY_DROPPED;
                dropped++;
            } else if (ob.equals(ImpactReport.DROPPED) && !oa.equals(ImpactReport.DROPPED)) {
                change = ImpactReport.NEWLY_ALLOWED;
                allowed++;
            } else {
                change = ImpactReport.UNCHANGED;
                same++;
            }
            Seen s = e.getValue();
            out.add(new ImpactFlow(s.source, s.destination, k.protocol.name().equals("ICMPV6") ? "ICMPv6" : k.protocol.name(),
                    k.port, k.method, k.path, s.count, s.lastVerdict, ob, oa, deciding(b), deciding(a), change));
        }
        out.sort(Comparator.comparing((ImpactFlow f) -> f.change().equals(ImpactReport.UNCHANGED))
                .thenComparing(ImpactFlow::change).thenComparing(f -> -f.count()));
        return new ImpactReport(since == null ? null : since.toString(), recorded.size(),
                recorded.size() >= MAX_FLOWS, dropped, allowed, same, out, selected(draft));
    }

    PolicyDiff diff(PolicySet draft) {
        PolicySet before = in.inForce().get();
        PolicySet after = before.merge(draft, before.policies().size() + 1L);
        EnforcementMode mode = in.mode().get();
        Map<String, PolicyInfo> inForce = new HashMap<>();
        for (PolicyInfo p : in.policies().get()) inForce.put(p.kind() + " " + p.qualifiedName(), p);
        List<PolicyChange> policies = new ArrayList<>();
        for (PolicyInfo p : draft.policies()) {
            PolicyInfo old = inForce.get(p.kind() + " " + p.qualifiedName());
            if (old == null) {
                policies.add(new PolicyChange(p.qualifiedName(), p.kind(), PolicyDiff.ADDED, List.of()));
            } else {
                List<String> lines = LineDiff.unified(lines(old.document()), lines(p.document()));
                boolean same = lines.stream().allMatch(l -> l.startsWith(" "));
                policies.add(new PolicyChange(p.qualifiedName(), p.kind(), same ? PolicyDiff.UNCHANGED : PolicyDiff.CHANGED,
                        same ? List.of() : lines));
            }
        }
        Collection<Identity> universe = in.identities().get();
        Map<Long, Identity> ids = byId(universe);
        List<EndpointChange> endpoints = new ArrayList<>();
        for (Endpoint ep : in.endpoints().get()) {
            Labels subject = subject(ep, ids);
            if (subject == null) continue;
            EndpointPolicy b = before.resolve(subject, ep.namedPorts(), universe, Map.of(), mode);
            EndpointPolicy a = after.resolve(subject, ep.namedPorts(), universe, Map.of(), mode);
            Set<PolicyEntry> eb = new HashSet<>(b.entries());
            Set<PolicyEntry> ea = new HashSet<>(a.entries());
            int added = (int) ea.stream().filter(x -> !eb.contains(x)).count();
            int removed = (int) eb.stream().filter(x -> !ea.contains(x)).count();
            if (added == 0 && removed == 0 && b.ingressEnforced() == a.ingressEnforced()
                    && b.egressEnforced() == a.egressEnforced()) continue;
            endpoints.add(new EndpointChange(ep.qualifiedName(), yesNo(b.ingressEnforced(), a.ingressEnforced()),
                    yesNo(b.egressEnforced(), a.egressEnforced()), added, removed));
        }
        endpoints.sort(Comparator.comparing(EndpointChange::endpoint));
        return new PolicyDiff(policies, endpoints);
    }

    /** The live endpoints the draft's policies select: those it gives any enforcement or entry. */
    private List<String> selected(PolicySet draft) {
        Collection<Identity> universe = in.identities().get();
        Map<Long, Identity> ids = byId(universe);
        List<String> names = new ArrayList<>();
        // in "default" mode a direction is enforced only where a rule selects the endpoint: what "selects" means
        EnforcementMode selecting = EnforcementMode.DEFAULT;
        for (Endpoint ep : in.endpoints().get()) {
            Labels subject = subject(ep, ids);
            if (subject == null) continue;
            EndpointPolicy p = draft.resolve(subject, ep.namedPorts(), universe, Map.of(), selecting);
            if (p.ingressEnforced() || p.egressEnforced() || !p.entries().isEmpty()) names.add(ep.qualifiedName());
        }
        names.sort(null);
        return names;
    }

    /** An endpoint's identity labels (what policies select), null while it has no identity. */
    private static Labels subject(Endpoint ep, Map<Long, Identity> byId) {
        Identity i = byId.get(ep.identity());
        return i == null ? null : Labels.parse(i.labels(), Label.ANY);
    }

    private static Map<Long, Identity> byId(Collection<Identity> universe) {
        Map<Long, Identity> out = new HashMap<>();
        for (Identity i : universe) out.put(i.id(), i);
        return out;
    }

    private static String yesNo(boolean before, boolean after) {
        String b = before ? "yes" : "no";
        return before == after ? b : b + " -> " + (after ? "yes" : "no");
    }

    private static List<String> lines(String document) {
        return document == null ? List.of() : List.of(document.strip().split("\n", -1));
    }

    /** A request's verdict is the HTTP one (allowed or dropped); a connection's may be "the proxy judges it". */
    private static String outcome(TraceResult t, boolean request) {
        if (!t.allowed()) return ImpactReport.DROPPED;
        if (request) return ImpactReport.ALLOWED;
        boolean l7 = (t.egress() != null && t.egress().l7()) || (t.ingress() != null && t.ingress().l7());
        return l7 ? ImpactReport.L7 : ImpactReport.ALLOWED;
    }

    /** The decision that settles the path: the one that drops it, else the ingress one (the last to pass). */
    private static String deciding(TraceResult t) {
        if (t.egress() != null && !t.egress().allowed()) return "egress: " + t.egress().rule();
        if (t.ingress() != null && !t.ingress().allowed()) return "ingress: " + t.ingress().rule();
        return t.ingress() == null ? null : "ingress: " + t.ingress().rule();
    }

    // ---- connection keys ----------------------------------------------------------------------------------

    private record Key(List<String> source, List<String> destination, List<NamedPort> destinationPorts,
                       Protocol protocol, int port, String method, String path) {
        TraceResult judge(PolicySet set, EnforcementMode mode) {
            Labels src = Labels.parse(source, Label.ANY);
            Labels dst = Labels.parse(destination, Label.ANY);
            HttpRequestInfo request = method == null ? null : HttpRequestInfo.of(method, path);
            return set.trace(src, dst, destinationPorts, port, protocol, mode, request);
        }
    }

    /** How often a key was seen and how to show it. */
    private static final class Seen {
        long count;
        String source;
        String destination;
        String lastVerdict;

        void add(Flow f) {
            count++;
            lastVerdict = f.verdict();
            if (source == null) {
                source = display(f.source(), f.ip() == null ? null : f.ip().source());
                destination = display(f.destination(), f.ip() == null ? null : f.ip().destination());
            }
        }
    }

    private static String display(FlowEndpoint e, String ip) {
        String name = e == null ? null : e.qualifiedName();
        return name != null ? name : Objects.requireNonNullElse(ip, "?");
    }

    /** The connection a flow belongs to, or null when it is not one (a reply, a response, a trace, non-IP). */
    static Key key(Flow f, Map<Long, Identity> identities, Map<Long, List<NamedPort>> ports) {
        if (f.isReply() || f.l4() == null || f.ip() == null) return null;
        boolean l7 = Flow.TYPE_L7.equals(f.eventType());
        if (!l7 && !Flow.TYPE_POLICY_VERDICT.equals(f.eventType()) && !Flow.TYPE_DROP.equals(f.eventType())) return null;
        Protocol protocol = protocol(f.l4().protocol());
        if (protocol == null) return null;
        String method = null;
        String path = null;
        if (l7) {
            if (f.l7() == null || f.l7().http() == null || !"REQUEST".equals(f.l7().type())) return null;
            method = f.l7().http().method();
            path = pathOf(f.l7().http().url());
            if (method == null || method.isEmpty() || path == null) return null;
        }
        List<String> src = peerLabels(f.source(), f.ip().source(), identities);
        List<String> dst = peerLabels(f.destination(), f.ip().destination(), identities);
        if (src == null || dst == null) return null;
        List<NamedPort> dstPorts = f.destination() == null ? List.of()
                : ports.getOrDefault(f.destination().id(), List.of());
        return new Key(src, dst, dstPorts, protocol, f.l4().destinationPort(), method, path);
    }

    private static Protocol protocol(String name) {
        if (name == null) return null;
        switch (name) {
            case "TCP": return Protocol.TCP;
            case "UDP": return Protocol.UDP;
            case "SCTP": return Protocol.SCTP;
            case "ICMP", "ICMPv4": return Protocol.ICMP;
            case "ICMPv6": return Protocol.ICMPV6;
            default: return null;
        }
    }

    private static String pathOf(String url) {
        if (url == null || url.isEmpty()) return null;
        try {
            String p = URI.create(url).getRawPath();
            return p == null || p.isEmpty() ? "/" : p;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * A side's labels as policies see them: an endpoint's (or remote peer's) identity labels; a peer outside the
     * cluster as {@code cidr:<ip>/32} (or /128) plus {@code reserved:world}. Null when the side cannot be described.
     */
    private static List<String> peerLabels(FlowEndpoint e, String ip, Map<Long, Identity> identities) {
        long id = e == null ? 0 : e.identity();
        boolean world = id == 0 || id == ReservedIdentity.WORLD.id() || id == ReservedIdentity.WORLD_IPV4.id()
                || id == ReservedIdentity.WORLD_IPV6.id() || id >= ReservedIdentity.FIRST_LOCAL;
        if (world) {
            if (ip == null || ip.isEmpty()) return null;
            return List.of("cidr:" + ip + (ip.contains(":") ? "/128" : "/32"), "reserved:world");
        }
        Identity known = identities.get(id);
        if (known != null) return known.labels();
        if (e.labels().isEmpty()) return null;
        return e.labels();
    }
}
