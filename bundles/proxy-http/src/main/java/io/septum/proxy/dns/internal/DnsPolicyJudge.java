package io.septum.proxy.dns.internal;

import io.septum.api.EndpointIndex;
import io.septum.api.EndpointSnapshot;
import io.septum.api.IdentityAllocator;
import io.septum.api.policy.Decision;
import io.septum.api.policy.Direction;
import io.septum.api.policy.DnsPolicy;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import io.septum.proxy.common.ProxyPeer;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Judges a query by the client endpoint's egress DNS rules towards the server it was sent to ({@link
 * PolicySet#dnsPolicy}). Fail closed: no policy repository, a client that is no local endpoint, or no DNS rule
 * governing the path any more (a policy change the datapath has not caught up with) all refuse.
 */
final class DnsPolicyJudge implements DnsProxy.Judge {
    private final Supplier<EndpointIndex> endpoints;
    private final Supplier<IdentityAllocator> identities;
    private final Supplier<PolicyRepository> policies;

    DnsPolicyJudge(Supplier<EndpointIndex> endpoints, Supplier<IdentityAllocator> identities,
                   Supplier<PolicyRepository> policies) {
        this.endpoints = endpoints;
        this.identities = identities;
        this.policies = policies;
    }

    @Override
    public DnsProxy.Verdict judge(InetSocketAddress client, InetSocketAddress server, String name) {
        EndpointIndex index = endpoints.get();
        EndpointSnapshot snap = index == null ? EndpointSnapshot.EMPTY : index.snapshot();
        ProxyPeer c = ProxyPeer.of(client.getAddress(), snap, identities.get());
        ProxyPeer s = ProxyPeer.of(server.getAddress(), snap, identities.get());
        long epId = c.endpoint() == null ? 0 : c.endpoint().id();
        PolicyRepository repo = policies.get();
        if (repo == null) return refuse("no policy repository (fail closed)", c, s, epId);
        if (c.endpoint() == null) return refuse("the client " + client.getAddress().getHostAddress()
                + " is no endpoint of this node (fail closed)", c, s, epId);
        PolicySet set = repo.current();
        // a rule naming a port resolves on the server's identity, local or on another node, as the datapath's does
        Optional<DnsPolicy> rules = set.dnsPolicy(Direction.EGRESS, c.labels(), s.labels(),
                snap.namedPortsOf(s.identity()), server.getPort(), repo.mode());
        if (rules.isEmpty()) return refuse("no DNS rule governs this path (fail closed)", c, s, epId);
        Decision d = rules.get().decide(name);
        String policy = d.ruleId() == 0 ? null : set.rule(d.ruleId()).map(r -> r.policy()).orElse(null);
        return new DnsProxy.Verdict(d.allowed(), d.rule(), policy, d.ruleId(), c.flow(), s.flow(), epId);
    }

    /**
     * An address is opened once the endpoint manager's published ipcache has an entry for it that is its own (an
     * FQDN address, or an endpoint's or the host's), not only a broader policy CIDR: the snapshot is published after
     * the pass that wrote the datapath, so the allows are in force by then.
     */
    @Override
    public boolean opened(java.util.List<String> addresses) {
        EndpointIndex index = endpoints.get();
        if (index == null) return true; // no endpoint manager: nothing will open them, do not hold the answer
        EndpointSnapshot snap = index.snapshot();
        for (String a : addresses) {
            java.net.InetAddress ip;
            try {
                ip = java.net.InetAddress.getByName(a); // a literal: the cache keeps literals only
            } catch (java.net.UnknownHostException e) {
                continue;
            }
            boolean own = snap.ipcacheEntryOf(ip).map(e -> !"policy-cidr".equals(e.source())).orElse(false);
            if (!own) return false;
        }
        return true;
    }

    private static DnsProxy.Verdict refuse(String why, ProxyPeer c, ProxyPeer s, long epId) {
        return new DnsProxy.Verdict(false, why, null, 0, c.flow(), s.flow(), epId);
    }
}
