package io.septum.policy.internal;

import io.septum.api.policy.Direction;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.Protocol;
import java.util.ArrayList;
import java.util.List;

/** How {@link PolicySetImpl#resolve} turns a rule's port entries into datapath entries. */
final class PolicyEntries {
    private PolicyEntries() {
    }

    /**
     * The datapath looks up the exact remote identity before identity 0 and takes the longest port prefix
     * within each, so an ALLOW could answer where a REDIRECT governs: an L3-only or port-range allow of an
     * identity beside a wildcard L7 rule, or a narrower allow inside an L7 range (CVE-2024-52529). For every
     * such overlap this adds a REDIRECT of the allow's identity over the overlapping ports: it is never a
     * shorter prefix than the allow's (a range's aligned blocks are maximal), and at an equal prefix REDIRECT
     * beats ALLOW in the datapath's merge, so the proxy sees every connection an L7 rule governs; there
     * {@link #http} admits every request of the identities that the allow admits (Cilium's union).
     *
     * <p>Cilium redirects the same connections but writes fewer entries: its lookup ({@code bpf/lib/policy.h})
     * prefers a wildcard-identity entry with a proxy port over an identity-specific allow whatever the prefix,
     * so it needs no identity-specific copy of a wildcard L7 entry; only a narrower allow of the same identity
     * inside an L7 range takes the proxy port in its map state. docs/policy.md lists each kind of entry.
     */
    static List<PolicyEntry> unshadow(List<PolicyEntry> redirects, List<PolicyEntry> allows) {
        List<PolicyEntry> out = new ArrayList<>();
        for (PolicyEntry r : redirects) {
            for (PolicyEntry a : allows) {
                if (a.direction() != r.direction()) continue;
                if (r.identity() != 0 && a.identity() != r.identity()) continue;
                if (a.protocol() != r.protocol() && a.protocol() != Protocol.ANY) continue;
                int lo = r.port();
                int hi = r.endPort();
                if (a.port() != 0) {
                    lo = Math.max(lo, a.port());
                    hi = Math.min(hi, a.endPort());
                }
                if (lo > hi) continue;
                out.add(new PolicyEntry(r.direction(), a.identity(), r.protocol(), lo, hi, PolicyAction.REDIRECT,
                        r.ruleId()));
            }
        }
        return out;
    }

    static List<PolicyEntry> expand(Direction dir, long peer, PortSpec s, PolicyAction action, int ruleId,
                                            boolean audit) {
        if (s.protocol() == Protocol.ANY && s.port() == 0) {
            return List.of(new PolicyEntry(dir, peer, Protocol.ANY, 0, 0, action, ruleId, audit));
        }
        List<Protocol> protos = s.protocol() == Protocol.ANY
                ? List.of(Protocol.TCP, Protocol.UDP, Protocol.SCTP) : List.of(s.protocol());
        List<PolicyEntry> out = new ArrayList<>();
        for (Protocol p : protos) {
            int end = PortSpec.icmp(p) ? s.port() : s.port() == 0 ? 0 : s.endPort(); // an ICMP type is exact, 0 too
            out.add(new PolicyEntry(dir, peer, p, s.port(), end, action, ruleId, audit));
        }
        return out;
    }
}
