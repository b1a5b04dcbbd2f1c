package io.septum.policy.internal;

import io.septum.testsupport.TestCorpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Identity;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.NamedPort;
import io.septum.api.ReservedIdentity;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EndpointPolicy;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.TestCase;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The datapath only sees {@link EndpointPolicy} entries; eval and trace use {@code decide}, the L7 proxy
 * {@code httpPolicy}. For every case of the corpus, every subject, every identity of the universe, every
 * interesting port and protocol and every mode, a simulated datapath lookup over the entries (the BPF program's:
 * longest port prefix within the exact identity and within identity 0, deny from either wins, else the exact
 * identity's answer) must give decide's verdict, and must send to the proxy exactly the connections that an L7
 * rule governs (CVE-2024-52529: no allow may let one skip the proxy). Named ports resolve on the destination in
 * both: the subject's own for ingress, the peer identity's for egress.
 */
class ResolveMatchesDecideTest {
    private final PolicyEngine engine = new PolicyEngineImpl();

    @TestFactory
    Stream<DynamicTest> entriesReproduceDecide() {
        return TestCorpus.cases().stream().map(e -> DynamicTest.dynamicTest(e.name(), () -> check(e.path())));
    }

    private void check(Path p) throws Exception {
        TestCase tc = engine.parseCase(p.toString(), TestCorpus.read(p));
        PolicySet set = engine.parse(p.toString(), tc.policies());
        List<Identity> universe = new ArrayList<>();
        for (ReservedIdentity r : ReservedIdentity.values()) universe.add(r.identity());
        long next = ReservedIdentity.FIRST_ALLOCATED;
        List<Labels> subjects = new ArrayList<>();
        Map<Long, List<NamedPort>> named = new HashMap<>();
        TreeSet<Integer> ports = new TreeSet<>(List.of(0, 1, 22, 65535));
        for (TestCase.Endpoint e : tc.endpoints()) {
            Labels l = CaseEvaluator.endpointLabels(e, tc.namespaces());
            subjects.add(l);
            named.put(next, e.namedPorts());
            for (NamedPort np : e.namedPorts()) ports.add(np.port());
            universe.add(new Identity(next++, l.asStrings(), false));
        }
        long local = ReservedIdentity.FIRST_LOCAL;
        for (TestCase.External x : tc.external()) {
            universe.add(new Identity(local++, CaseEvaluator.externalLabels(x.ip()).asStrings(), false));
        }
        for (String prefix : set.cidrPrefixes()) {
            universe.add(new Identity(local++, List.of("cidr:" + prefix, "reserved:world"), false));
        }
        for (TestCase.Probe pr : tc.probes()) {
            ports.add(pr.port());
            ports.add(pr.port() + 1);
            ports.add(pr.port() - 1);
        }
        int checked = 0;
        for (EnforcementMode mode : EnforcementMode.values()) {
            for (int s = 0; s < subjects.size(); s++) {
                Labels subject = subjects.get(s);
                List<NamedPort> own = named.get(ReservedIdentity.FIRST_ALLOCATED + s);
                EndpointPolicy ep = set.resolve(subject, own, universe, named, mode);
                for (PolicyEntry e : ep.entries()) {
                    for (int port : new int[] {e.port() - 1, e.port(), e.endPort(), e.endPort() + 1}) {
                        if (port >= 0 && port <= 65535) ports.add(port);
                    }
                }
                for (Identity id : universe) {
                    for (Direction dir : Direction.values()) {
                        for (Protocol proto : List.of(Protocol.TCP, Protocol.UDP, Protocol.SCTP, Protocol.ICMP)) {
                            for (int port : proto == Protocol.ICMP ? new TreeSet<>(List.of(0)) : ports) {
                                List<NamedPort> dest = dir == Direction.INGRESS ? own : named.getOrDefault(id.id(), List.of());
                                boolean want = set.decide(dir, subject, id.labelSet(), dest, port, proto, mode).allowed();
                                PolicyAction action = lookup(ep, dir, id.id(), port, proto);
                                boolean enforced = dir == Direction.INGRESS ? ep.ingressEnforced() : ep.egressEnforced();
                                boolean got = action == null ? !enforced : action != PolicyAction.DENY;
                                int fport = port;
                                assertEquals(want, got, () -> p.getFileName() + " mode " + mode + " " + dir + " subject ["
                                        + subject + "] peer " + id.id() + " [" + id.labelSet() + "] " + fport + "/" + proto
                                        + "\nentries: " + ep);
                                // httpPolicy is about TCP and dnsPolicy about UDP: the proxies see nothing else
                                boolean l7 = (proto == Protocol.TCP
                                        && set.httpPolicy(dir, subject, id.labelSet(), dest, port, mode).isPresent())
                                        || (proto == Protocol.UDP
                                        && set.dnsPolicy(dir, subject, id.labelSet(), dest, port, mode).isPresent());
                                assertEquals(l7, action == PolicyAction.REDIRECT, () -> p.getFileName() + " mode " + mode
                                        + " " + dir + " subject [" + subject + "] peer " + id.id() + " " + fport + "/"
                                        + proto + ": L7 governs = " + l7 + " but the datapath says " + action
                                        + "\nentries: " + ep);
                                checked++;
                            }
                        }
                    }
                }
            }
        }
        assertTrue(checked > 0);
    }

    /**
     * The BPF program's lookup ({@code bpf/src/lib/policy.h}) over what the datapath's codec writes: per identity
     * the longest matching port prefix (an equal prefix merges to the stronger action, REDIRECT over ALLOW; an
     * allow under a broader deny of the same identity is written as that deny), the exact identity and then
     * identity 0; a deny from either wins, else the exact identity's entry, else identity 0's. Null: no entry.
     */
    static PolicyAction lookup(EndpointPolicy ep, Direction dir, long peer, int port, Protocol proto) {
        PolicyAction exact = lpm(ep, dir, peer, port, proto);
        PolicyAction any = peer != 0 ? lpm(ep, dir, 0, port, proto) : null;
        if (exact == PolicyAction.DENY || any == PolicyAction.DENY) return PolicyAction.DENY;
        return exact != null ? exact : any;
    }

    private static PolicyAction lpm(EndpointPolicy ep, Direction dir, long identity, int port, Protocol proto) {
        PolicyAction best = null;
        int bestLen = -1;
        for (PolicyEntry e : ep.entries()) {
            if (e.direction() != dir || e.identity() != identity) continue;
            int len = prefixLen(e, port, proto);
            if (len < 0) continue;
            if (e.action() == PolicyAction.DENY) return PolicyAction.DENY;
            if (len > bestLen || (len == bestLen && e.action() == PolicyAction.REDIRECT)) {
                best = e.action();
                bestLen = len;
            }
        }
        return best;
    }

    /** The trie prefix length of {@code e}'s key that holds {@code port}, -1 when none: 72 any, 80 protocol, 80+n port. */
    private static int prefixLen(PolicyEntry e, int port, Protocol proto) {
        if (e.protocol() == Protocol.ANY) {
            if (e.port() != 0) throw new AssertionError("ANY with a port must be expanded: " + e);
            return 72;
        }
        if (e.protocol() != proto) return -1;
        if (e.port() == 0) return 80;
        if (port < e.port() || port > e.endPort()) return -1;
        long p = e.port();
        while (p <= e.endPort()) {
            int size = 0;
            while (size < 16 && (p & ((1L << (size + 1)) - 1)) == 0 && p + (1L << (size + 1)) - 1 <= e.endPort()) size++;
            if (port >= p && port < p + (1L << size)) return 80 + 16 - size;
            p += 1L << size;
        }
        throw new AssertionError("unreachable");
    }

    /** What the BPF program does: a matching DENY drops; else an enforced direction needs a matching ALLOW. */
    static boolean simulate(EndpointPolicy ep, Direction dir, long peer, int port, Protocol proto) {
        boolean allow = false;
        for (PolicyEntry e : ep.entries()) {
            if (e.direction() != dir) continue;
            if (e.identity() != 0 && e.identity() != peer) continue;
            if (e.protocol() != Protocol.ANY && e.protocol() != proto) continue;
            if (e.protocol() == Protocol.ANY && e.port() != 0) throw new AssertionError("ANY with a port must be expanded: " + e);
            if (e.port() != 0 && (port < e.port() || port > e.endPort())) continue;
            if (e.action() == PolicyAction.DENY) return false;
            allow = true;
        }
        boolean enforced = dir == Direction.INGRESS ? ep.ingressEnforced() : ep.egressEnforced();
        return !enforced || allow;
    }

    static Labels labels(String... l) {
        List<Label> out = new ArrayList<>();
        for (String s : l) out.add(Label.parse(s));
        return Labels.of(out);
    }
}
