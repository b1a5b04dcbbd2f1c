package io.septum.policy.internal;

import io.septum.api.Identity;
import io.septum.api.Labels;
import io.septum.api.NamedPort;
import io.septum.api.policy.Decision;
import io.septum.api.policy.Direction;
import io.septum.api.policy.DnsPolicy;
import io.septum.api.policy.EndpointPolicy;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.HttpPolicy;
import io.septum.api.policy.HttpRequestInfo;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.RuleRef;
import io.septum.api.policy.TraceResult;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * An immutable set of compiled policies and Cilium's semantics over them. Every question (resolve, decide,
 * trace) walks the same rule list in the same order, so that the datapath entries and the offline answers
 * cannot disagree.
 */
final class PolicySetImpl implements PolicySet {
    /** A rule with its policy and its id. */
    record Bound(CompiledPolicy policy, CompiledRule rule, RuleRef ref) {
        String display() {
            return ref.display();
        }
    }

    private static final Comparator<CompiledPolicy> ORDER = Comparator.comparing(CompiledPolicy::namespace)
            .thenComparing(CompiledPolicy::name).thenComparing(CompiledPolicy::kind);

    private final List<CompiledPolicy> policies;
    /** What its {@code toServices} peers were resolved against; kept by {@link #merge} and {@link #without}. */
    private final ServiceTargets services;
    private final List<Bound> rules = new ArrayList<>();
    private final List<Bound> isolations = new ArrayList<>();
    private final Map<Integer, RuleRef> byId = new HashMap<>();
    private final List<PolicyInfo> infos = new ArrayList<>();

    /**
     * The identities' label sets, parsed once per policy set: a pass resolves every endpoint against the same
     * identities, and parsing them again for each endpoint was 40% of the pass's CPU after an import at 100
     * endpoints (JFR; docs/benchmarks.md). Emptied when it holds far more identities than a pass resolves against
     * (released ones), and when it holds more than there can be.
     */
    private final Map<Identity, Labels> parsedLabels = new ConcurrentHashMap<>();
    private static final int MAX_PARSED_LABELS = 1 << 17;

    PolicySetImpl(Collection<CompiledPolicy> input) {
        this(input, ServiceTargets.NONE);
    }

    /** @param services what {@code toServices} peers resolve against (the repository's, from the services) */
    private PolicySetImpl(Collection<CompiledPolicy> input, ServiceTargets services) {
        List<CompiledPolicy> sorted = new ArrayList<>(input);
        sorted.sort(ORDER);
        this.policies = List.copyOf(sorted);
        this.services = services;
        Map<String, Integer> ids = assignIds(policies);
        // cidrGroupRef/cidrGroupSelector peers take the CIDRs their groups have in this set, toServices peers the
        // given services: a group or service changed later changes every policy that names it at the next set
        Map<String, CompiledPolicy> groups = new HashMap<>();
        for (CompiledPolicy p : policies) {
            if (p.kind().equals(CompiledPolicy.CIDR_GROUP)) groups.put(p.name(), p);
        }
        References named = new References(groups, services);
        for (CompiledPolicy original : policies) {
            CompiledPolicy p = original.resolved(named);
            List<RuleRef> refs = new ArrayList<>();
            for (CompiledRule r : p.rules()) {
                RuleRef ref = new RuleRef(ids.get(ruleKey(p, r)), p.qualifiedName(), r.section(), r.index(), r.hasL7());
                rules.add(new Bound(p, r, ref));
                byId.put(ref.id(), ref);
                refs.add(ref);
            }
            for (CompiledRule r : p.isolations()) {
                isolations.add(new Bound(p, r, new RuleRef(0, p.qualifiedName(), r.section(), -1, false)));
            }
            infos.add(new PolicyInfo(p.name(), p.namespace(), p.kind(), p.revision(), p.origin(), refs, p.notes(),
                    p.document()));
        }
    }

    private static String ruleKey(CompiledPolicy p, CompiledRule r) {
        return p.kind() + "/" + p.namespace() + "/" + p.name() + "/" + r.section() + "/" + r.index();
    }

    /**
     * A 31-bit hash of each rule's key, so that a rule keeps its id across imports, restarts and unrelated
     * changes. Collisions (rare) go to the next free number, in key order, so the outcome is deterministic.
     */
    private static Map<String, Integer> assignIds(List<CompiledPolicy> policies) {
        TreeSet<String> keys = new TreeSet<>();
        for (CompiledPolicy p : policies) for (CompiledRule r : p.rules()) keys.add(ruleKey(p, r));
        Map<String, Integer> out = new HashMap<>();
        Set<Integer> used = new HashSet<>();
        for (String k : keys) {
            int id = hash(k);
            while (!used.add(id)) id = id == Integer.MAX_VALUE ? 1 : id + 1;
            out.put(k, id);
        }
        return out;
    }

    static int hash(String key) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            int v = ((d[0] & 0x7f) << 24) | ((d[1] & 0xff) << 16) | ((d[2] & 0xff) << 8) | (d[3] & 0xff);
            return v == 0 ? 1 : v;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    List<CompiledPolicy> compiled() {
        return policies;
    }

    /** The same rules, carrying other services (which no rule of {@code same} names). */
    private PolicySetImpl(PolicySetImpl same, ServiceTargets services) {
        this.policies = same.policies;
        this.services = services;
        rules.addAll(same.rules);
        isolations.addAll(same.isolations);
        byId.putAll(same.byId);
        infos.addAll(same.infos);
    }

    /** True when a rule names a service ({@code toServices}). */
    boolean namesServices() {
        return policies.stream().flatMap(p -> p.rules().stream())
                .anyMatch(r -> r.peers().stream().anyMatch(p -> p instanceof Peer.Service));
    }

    /**
     * This set with its {@code toServices} peers resolved against {@code services}, which the sets that {@link #merge}
     * and {@link #without} make keep. Cheap when no rule names a service.
     */
    PolicySetImpl withServices(ServiceTargets services) {
        if (services.equals(this.services)) return this;
        return namesServices() ? new PolicySetImpl(policies, services) : new PolicySetImpl(this, services);
    }

    @Override
    public List<PolicyInfo> policies() {
        return List.copyOf(infos);
    }

    @Override
    public PolicySet merge(PolicySet newer, long revision) {
        if (!(newer instanceof PolicySetImpl n)) {
            throw new IllegalArgumentException("can only merge policy sets from the same engine");
        }
        Map<String, CompiledPolicy> byKey = new LinkedHashMap<>();
        for (CompiledPolicy p : policies) byKey.put(p.key(), p);
        for (CompiledPolicy p : n.policies) byKey.put(p.key(), p.withRevision(revision));
        return new PolicySetImpl(byKey.values(), services);
    }

    @Override
    public Optional<PolicySet> without(String namespace, String name) {
        String ns = namespace == null ? "" : namespace;
        List<CompiledPolicy> kept = new ArrayList<>();
        for (CompiledPolicy p : policies) {
            if (!(p.namespace().equals(ns) && p.name().equals(name))) kept.add(p);
        }
        return kept.size() == policies.size() ? Optional.empty() : Optional.of(new PolicySetImpl(kept, services));
    }

    @Override
    public List<String> cidrPrefixes() {
        Set<Cidr> all = new HashSet<>();
        for (Bound b : rules) {
            for (Peer p : b.rule().peers()) {
                if (p instanceof Peer.CidrSet c) {
                    all.add(c.cidr());
                    all.addAll(c.except());
                } else if (p instanceof Peer.CidrGroup g) {
                    all.addAll(g.members());
                } else if (p instanceof Peer.Service svc) {
                    all.addAll(svc.target().addresses());
                }
            }
        }
        return all.stream().map(Cidr::toString).sorted().toList();
    }

    @Override
    public Optional<RuleRef> rule(int id) {
        return Optional.ofNullable(byId.get(id));
    }

    // ---------------------------------------------------------------- semantics

    List<Bound> selecting(Direction dir, Labels subject) {
        List<Bound> out = new ArrayList<>();
        for (Bound b : rules) if (b.rule().direction() == dir && b.rule().selects(subject)) out.add(b);
        return out;
    }

    boolean enforced(Direction dir, Labels subject, EnforcementMode mode) {
        if (mode == EnforcementMode.NEVER) return false;
        if (mode == EnforcementMode.ALWAYS) return true;
        return selectedForEnforcement(dir, subject, true);
    }

    /**
     * Whether the direction's default deny comes only from audit-mode policies, so that it is reported as AUDIT
     * instead of dropping. Mode {@code always} enforces every endpoint whatever selects it: never audit then.
     */
    boolean auditDefault(Direction dir, Labels subject, EnforcementMode mode) {
        return mode == EnforcementMode.DEFAULT && selectedForEnforcement(dir, subject, true)
                && !selectedForEnforcement(dir, subject, false);
    }

    private boolean selectedForEnforcement(Direction dir, Labels subject, boolean countAudit) {
        for (Bound b : rules) {
            if ((countAudit || !b.policy().audit()) && b.rule().direction() == dir && b.rule().enforces()
                    && b.rule().selects(subject)) return true;
        }
        for (Bound b : isolations) {
            if ((countAudit || !b.policy().audit()) && b.rule().direction() == dir && b.rule().selects(subject)) {
                return true;
            }
        }
        return false;
    }

    /**
     * fromRequires/toRequires, as Cilium applies them: those of every allow rule selecting the subject constrain every
     * endpoint peer of the allow rules, those of every deny rule the endpoint peers of the deny rules (a deny whose
     * requirements a peer lacks does not deny it). A service's endpoint backends count as endpoint peers (Cilium makes
     * a service's selector a toEndpoints selector); entities, CIDRs and IP backends are never constrained.
     */
    record Requirements(List<Selector> allow, List<Selector> deny) {
        List<Selector> of(CompiledRule r) {
            return r.deny() ? deny : allow;
        }
    }

    static Requirements requirements(List<Bound> selecting) {
        List<Selector> allow = new ArrayList<>();
        List<Selector> deny = new ArrayList<>();
        for (Bound b : selecting) (b.rule().deny() ? deny : allow).addAll(b.rule().requires());
        return new Requirements(allow, deny);
    }

    static boolean peerMatches(CompiledRule r, Labels peer, Requirements requires) {
        for (Peer p : r.peers()) {
            if (!p.matches(peer)) continue;
            boolean endpoint = p instanceof Peer.Endpoints || (p instanceof Peer.Service svc && svc.endpointBackend(peer));
            if (endpoint && !requires.of(r).stream().allMatch(s -> s.matches(peer))) continue;
            return true;
        }
        return false;
    }

    @Override
    public Decision decide(Direction direction, Labels subject, Labels peer, int port, Protocol protocol,
                           EnforcementMode mode) {
        return decide(direction, subject, peer, List.of(), port, protocol, mode);
    }

    @Override
    public Decision decide(Direction direction, Labels subject, Labels peer, List<NamedPort> destinationPorts,
                           int port, Protocol protocol, EnforcementMode mode) {
        if (mode == EnforcementMode.NEVER) {
            return new Decision(true, "policy enforcement disabled (mode never)", 0, false);
        }
        List<Bound> sel = selecting(direction, subject);
        Requirements requires = requirements(sel);
        Bound auditDeny = null;
        for (Bound b : sel) {
            if (b.rule().deny() && peerMatches(b.rule(), peer, requires) && b.rule().portMatch(port, protocol, destinationPorts) != null) {
                if (!b.policy().audit()) return new Decision(false, b.display(), b.ref().id(), false);
                if (auditDeny == null) auditDeny = b;
            }
        }
        if (auditDeny != null) {
            return new Decision(true, "audit: " + auditDeny.display() + " would deny", auditDeny.ref().id(), false);
        }
        Bound allow = null;
        boolean l7 = false;
        for (Bound b : sel) {
            if (b.rule().deny() || !peerMatches(b.rule(), peer, requires)) continue;
            PortRule pr = b.rule().portMatch(port, protocol, destinationPorts);
            if (pr == null) continue;
            // an allow that carries L7 rules sends the connection to the proxy (CVE-2024-52529): report it over a
            // plain L3/L4 one; which rule admits each request is httpPolicy's answer (Cilium's union)
            if (pr.l7() && !l7) {
                allow = b;
                l7 = true;
            } else if (allow == null) {
                allow = b;
            }
        }
        if (allow != null) return new Decision(true, allow.display(), allow.ref().id(), l7);
        if (!enforced(direction, subject, mode)) {
            return new Decision(true, "no rule selects endpoint for " + dirName(direction) + " (default allow)", 0, false);
        }
        if (auditDefault(direction, subject, mode)) {
            return new Decision(true, "audit: default deny (only audit-mode policies select endpoint for "
                    + dirName(direction) + ")", 0, false);
        }
        return new Decision(false, "default deny: no rule allows", 0, false);
    }

    /**
     * Cilium's L7 semantics, a union: a connection goes to the proxy when an allow rule with HTTP rules covers
     * this peer and TCP port, and there a request passes when any allow rule that covers the peer and port admits
     * it. An allow without HTTP rules admits every request: an L3-only allow (every port), an L4 or L3/L4 allow of
     * the same port, of all TCP ports, or of a range around it. Cilium's xDS generation does exactly that: each
     * L4 filter (port 0 for L3-only rules, ranges with their end port) becomes a port policy whose selectors
     * without L7 rules are allow-all rules for their remote identities, and the proxy admits a request when any
     * port policy covering the port (exact, range or wildcard) allows it. Denied connections never reach the
     * proxy, so a matching deny gives empty. See docs/policy.md, "How L7 rules combine with other rules".
     */
    @Override
    public Optional<HttpPolicy> httpPolicy(Direction direction, Labels subject, Labels peer, int port,
                                           EnforcementMode mode) {
        return Optional.ofNullable(http(direction, subject, peer, List.of(), port, mode));
    }

    @Override
    public Optional<HttpPolicy> httpPolicy(Direction direction, Labels subject, Labels peer,
                                           List<NamedPort> destinationPorts, int port, EnforcementMode mode) {
        return Optional.ofNullable(http(direction, subject, peer, destinationPorts, port, mode));
    }

    /**
     * The allow rules selecting {@code subject} whose peers include {@code peer}, in order: what a proxy's union
     * is made of; null when nothing reaches a proxy there (mode never, no such port, or a deny covers the path).
     */
    private List<Bound> allowsOfPeer(Direction direction, Labels subject, Labels peer, List<NamedPort> destinationPorts,
                                     int port, Protocol protocol, EnforcementMode mode) {
        if (mode == EnforcementMode.NEVER || port <= 0 || port > 65535) return null;
        List<Bound> sel = selecting(direction, subject);
        Requirements requires = requirements(sel);
        List<Bound> out = new ArrayList<>();
        for (Bound b : sel) {
            if (!peerMatches(b.rule(), peer, requires)) continue;
            if (!b.rule().deny()) out.add(b);
            else if (b.rule().portMatch(port, protocol, destinationPorts) != null) return null;
        }
        return out;
    }

    /** @param destinationPorts the destination's named ports, on which rules that name a port resolve */
    HttpPolicyImpl http(Direction direction, Labels subject, Labels peer, List<NamedPort> destinationPorts, int port,
                        EnforcementMode mode) {
        List<Bound> allows = allowsOfPeer(direction, subject, peer, destinationPorts, port, Protocol.TCP, mode);
        if (allows == null) return null;
        List<HttpPolicyImpl.Entry> anyRequest = new ArrayList<>();
        List<HttpPolicyImpl.Entry> entries = new ArrayList<>();
        for (Bound b : allows) {
            HttpPolicyImpl.Entry plain = null;
            for (PortRule pr : b.rule().ports()) {
                PortSpec spec = pr.dnsRules() ? null : pr.specFor(port, Protocol.TCP, destinationPorts);
                if (spec == null) continue;
                if (!pr.l7()) {
                    // one allow-all entry per rule: the first of its port entries that covers the port names it
                    if (plain == null) plain = new HttpPolicyImpl.Entry(b.display() + " (" + plainAllow(spec)
                            + " without HTTP rules: any request)", b.ref().id(), null);
                    continue;
                }
                String base = b.display() + (b.rule().ports().size() > 1 ? " toPorts[" + pr.index() + "]." : " ");
                if (pr.http().isEmpty()) {
                    entries.add(new HttpPolicyImpl.Entry(base + "http (empty: any request)", b.ref().id(), null));
                }
                for (HttpRule h : pr.http()) {
                    entries.add(new HttpPolicyImpl.Entry(base + "http[" + h.index() + "]", b.ref().id(), h));
                }
            }
            if (plain != null) anyRequest.add(plain);
        }
        // no HTTP rule covers this peer and port: L3/L4 decides, the connection never reaches the proxy
        if (entries.isEmpty()) return null;
        // allow-all entries first: they admit every request, so naming them is the honest answer for each one
        List<HttpPolicyImpl.Entry> all = new ArrayList<>(anyRequest);
        all.addAll(entries);
        return new HttpPolicyImpl(all, entries.get(0).ruleId());
    }

    @Override
    public Optional<DnsPolicy> dnsPolicy(Direction direction, Labels subject, Labels peer, int port,
                                         EnforcementMode mode) {
        return Optional.ofNullable(dns(direction, subject, peer, List.of(), port, mode));
    }

    @Override
    public Optional<DnsPolicy> dnsPolicy(Direction direction, Labels subject, Labels peer,
                                         List<NamedPort> destinationPorts, int port, EnforcementMode mode) {
        return Optional.ofNullable(dns(direction, subject, peer, destinationPorts, port, mode));
    }

    /**
     * The DNS rules' union, as {@link #http} for HTTP: a query goes to the DNS proxy when an allow with DNS rules
     * covers this peer and UDP port, and there a name passes when any allow covering peer and port admits it; one
     * without DNS rules admits every name. A matching deny gives empty: the query is dropped before any proxy.
     */
    DnsPolicyImpl dns(Direction direction, Labels subject, Labels peer, List<NamedPort> destinationPorts, int port,
                      EnforcementMode mode) {
        List<Bound> allows = allowsOfPeer(direction, subject, peer, destinationPorts, port, Protocol.UDP, mode);
        if (allows == null) return null;
        List<DnsPolicyImpl.Entry> anyName = new ArrayList<>();
        List<DnsPolicyImpl.Entry> entries = new ArrayList<>();
        for (Bound b : allows) {
            for (PortRule pr : b.rule().ports()) {
                PortSpec spec = pr.specFor(port, Protocol.UDP, destinationPorts);
                if (spec == null) continue;
                if (!pr.dnsRules()) {
                    if (!pr.l7()) anyName.add(new DnsPolicyImpl.Entry(b.display() + " (" + plainAllow(spec)
                            + " without DNS rules: any name)", b.ref().id(), null));
                    continue;
                }
                String base = b.display() + (b.rule().ports().size() > 1 ? " toPorts[" + pr.index() + "]." : " ");
                for (int i = 0; i < pr.dns().size(); i++) {
                    entries.add(new DnsPolicyImpl.Entry(base + "dns[" + i + "] " + pr.dns().get(i), b.ref().id(),
                            pr.dns().get(i)));
                }
            }
        }
        if (entries.isEmpty()) return null;
        List<DnsPolicyImpl.Entry> all = new ArrayList<>(anyName);
        all.addAll(entries);
        return new DnsPolicyImpl(all);
    }

    /** How an allow-all entry names the port entry that admits every request. */
    private static String plainAllow(PortSpec spec) {
        if (spec.protocol() == Protocol.ANY && spec.port() == 0) return "L3-only allow of every port";
        return "L3/L4 allow of " + spec;
    }

    @Override
    public EndpointPolicy resolve(Labels subject, Collection<Identity> universe, EnforcementMode mode) {
        return resolve(subject, List.of(), universe, Map.of(), mode);
    }

    private Labels labelsOf(Identity identity) {
        Labels parsed = parsedLabels.get(identity);
        if (parsed == null) {
            if (parsedLabels.size() >= MAX_PARSED_LABELS) parsedLabels.clear();
            parsed = identity.labelSet();
            parsedLabels.put(identity, parsed);
        }
        return parsed;
    }

    /**
     * A named port resolves on the destination ({@link PortSpec#resolve}): for ingress the subject's own ports,
     * for egress each peer identity's. An egress rule whose peers are a wildcard (identity 0) cannot name a port
     * for every peer at once, so there the name gives one entry per peer identity that declares it.
     */
    @Override
    public EndpointPolicy resolve(Labels subject, List<NamedPort> subjectPorts, Collection<Identity> universe,
                                  Map<Long, List<NamedPort>> peerPorts, EnforcementMode mode) {
        if (mode == EnforcementMode.NEVER) return new EndpointPolicy(false, false, List.of());
        Map<List<Object>, PolicyEntry> entries = new LinkedHashMap<>();
        List<Identity> ids = List.copyOf(universe);
        // identities come and go while a policy set lives: what the cache holds beyond twice those of now is gone
        if (parsedLabels.size() > 2 * ids.size() + 1024) parsedLabels.clear();
        List<Labels> idLabels = ids.stream().map(this::labelsOf).toList();
        for (Direction dir : Direction.values()) {
            List<Bound> sel = new ArrayList<>(selecting(dir, subject));
            Requirements requires = requirements(sel);
            // enforcing policies first, so that of two equal entries the enforced one is kept
            sel.sort(Comparator.comparing((Bound b) -> b.policy().audit()));
            List<PolicyEntry> denies = new ArrayList<>();
            List<PolicyEntry> redirects = new ArrayList<>();
            List<PolicyEntry> allows = new ArrayList<>();
            for (Bound b : sel) {
                CompiledRule r = b.rule();
                Set<Long> peers = new java.util.LinkedHashSet<>();
                boolean wildcard = r.peers().stream().anyMatch(Peer::wildcard);
                if (wildcard) {
                    peers.add(0L);
                } else {
                    for (int i = 0; i < ids.size(); i++) {
                        if (peerMatches(r, idLabels.get(i), requires)) peers.add(ids.get(i).id());
                    }
                }
                for (long peer : peers) {
                    for (PortRule pr : r.ports()) {
                        for (PortSpec named : pr.ports()) {
                            Map<Long, List<PortSpec>> resolved = new LinkedHashMap<>();
                            if (!named.named()) {
                                resolved.put(peer, List.of(named));
                            } else if (dir == Direction.INGRESS) {
                                resolved.put(peer, named.resolve(subjectPorts));
                            } else if (peer != 0) {
                                resolved.put(peer, named.resolve(peerPorts.getOrDefault(peer, List.of())));
                            } else {
                                for (int i = 0; i < ids.size(); i++) {
                                    long id = ids.get(i).id();
                                    if (!peerMatches(r, idLabels.get(i), requires)) continue;
                                    resolved.put(id, named.resolve(peerPorts.getOrDefault(id, List.of())));
                                }
                            }
                            resolved.forEach((to, specs) -> {
                                for (PortSpec s : specs) {
                                    if (r.deny()) {
                                        denies.addAll(PolicyEntries.expand(dir, to, s, PolicyAction.DENY, b.ref().id(),
                                                b.policy().audit()));
                                    } else if (pr.l7()) {
                                        // a proxy speaks one protocol: an L7 entry allows nothing else
                                        redirects.add(new PolicyEntry(dir, to, pr.proxied(), s.port(), s.endPort(),
                                                PolicyAction.REDIRECT, b.ref().id()));
                                    } else {
                                        allows.addAll(PolicyEntries.expand(dir, to, s, PolicyAction.ALLOW, b.ref().id(), false));
                                    }
                                }
                            });
                        }
                    }
                }
            }
            redirects.addAll(PolicyEntries.unshadow(redirects, allows));
            // denies first: a reader of the map sees them before the allows they override; redirects before
            // allows for the same reason (an allow must never be in force where the proxy should judge)
            for (List<PolicyEntry> group : List.of(denies, redirects, allows)) {
                for (PolicyEntry e : group) {
                    entries.putIfAbsent(List.of(e.direction(), e.identity(), e.protocol(), e.port(), e.endPort(),
                            e.action()), e);
                }
            }
        }
        for (Direction dir : Direction.values()) {
            // what no entry decides passes as AUDIT; a real entry on the same key already decides everything
            if (auditDefault(dir, subject, mode)) {
                PolicyEntry d = PolicyEntry.auditDefault(dir);
                boolean taken = entries.values().stream().anyMatch(e -> e.direction() == dir && e.identity() == 0
                        && e.protocol() == Protocol.ANY && e.port() == 0);
                if (!taken) entries.put(List.of(d.direction(), d.identity(), d.protocol(), 0, 0, "audit-default"), d);
            }
        }
        return new EndpointPolicy(enforced(Direction.INGRESS, subject, mode), enforced(Direction.EGRESS, subject, mode),
                new ArrayList<>(entries.values()));
    }

    static String dirName(Direction d) {
        return d.name().toLowerCase(Locale.ROOT);
    }

    // ---------------------------------------------------------------- trace

    @Override
    public TraceResult trace(Labels source, Labels destination, int port, Protocol protocol, EnforcementMode mode) {
        return new PolicyTracer(this).trace(source, destination, List.of(), port, protocol, mode);
    }

    @Override
    public TraceResult trace(Labels source, Labels destination, int port, Protocol protocol, EnforcementMode mode,
                             HttpRequestInfo request) {
        return trace(source, destination, List.of(), port, protocol, mode, request);
    }

    @Override
    public TraceResult trace(Labels source, Labels destination, List<NamedPort> destinationPorts, int port,
                             Protocol protocol, EnforcementMode mode, HttpRequestInfo request) {
        return new PolicyTracer(this).trace(source, destination, destinationPorts == null ? List.of() : destinationPorts,
                port, protocol, mode, request);
    }

    /** The isolating (rule-less) entries of the policies that select {@code subject} in {@code dir}, for a trace. */
    List<Bound> isolating(Direction dir, Labels subject) {
        List<Bound> out = new ArrayList<>();
        for (Bound b : isolations) {
            if (b.rule().direction() == dir && b.rule().selects(subject)) out.add(b);
        }
        return out;
    }
}
