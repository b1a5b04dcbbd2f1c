package io.septum.proxy.http.internal;

import io.septum.api.Endpoint;
import io.septum.api.EndpointIndex;
import io.septum.api.EndpointSnapshot;
import io.septum.api.IdentityAllocator;
import io.septum.api.NamedPort;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.policy.Decision;
import io.septum.api.policy.Direction;
import io.septum.api.policy.HttpPolicy;
import io.septum.api.policy.HttpRequestInfo;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import io.septum.proxy.common.ProxyPeer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The agent's judge: names both sides of a connection from the endpoint index's newest snapshot (endpoints by
 * address; other peers by the ipcache's longest prefix, else as {@code cidr:<ip>/32} plus {@code reserved:world}),
 * two hash lookups per connection whatever the number of endpoints, and applies the HTTP rules of
 * the server's ingress and the client's egress policy, both of which must admit a request. The rules are looked up
 * again whenever the policy revision or the endpoint index's revision changes, so a policy change (or a port name
 * the index learned) applies to the next request of an open connection.
 * No service, no policy: every request is denied (fail closed).
 */
final class PolicyJudge implements Judge {
    private final Supplier<EndpointIndex> endpoints;
    private final Supplier<IdentityAllocator> identities;
    private final Supplier<PolicyRepository> policies;

    PolicyJudge(Supplier<EndpointIndex> endpoints, Supplier<IdentityAllocator> identities, Supplier<PolicyRepository> policies) {
        this.endpoints = endpoints;
        this.identities = identities;
        this.policies = policies;
    }

    @Override
    public ConnectionJudge connection(InetSocketAddress client, InetSocketAddress server) {
        EndpointIndex index = endpoints.get();
        EndpointSnapshot snap = index == null ? EndpointSnapshot.EMPTY : index.snapshot();
        ProxyPeer c = side(client.getAddress(), snap);
        ProxyPeer s = side(server.getAddress(), snap);
        // an endpoint of another node: its address is in the ipcache from the cluster's store
        boolean remote = s.endpoint() == null && snap.ipcacheEntryOf(server.getAddress())
                .map(e -> e.source() != null && e.source().startsWith("kvstore:")).orElse(false);
        // the answers are handed to the proxy through the client's bridge (septum_to_ep): a routed client keeps the
        // host's address, as before
        return new Connection(c, s, server.getPort(), c.endpoint() != null && remote && bridgePort(c.endpoint()));
    }

    private static boolean bridgePort(Endpoint ep) {
        String ifname = ep.interfaceName();
        return ifname != null && !ifname.isEmpty() && !ifname.contains("/")
                && java.nio.file.Files.exists(java.nio.file.Path.of("/sys/class/net", ifname, "master"));
    }

    private ProxyPeer side(InetAddress addr, EndpointSnapshot snap) {
        return ProxyPeer.of(addr, snap, identities.get());
    }

    private final class Connection implements ConnectionJudge {
        private final ProxyPeer client;
        private final ProxyPeer server;
        private final int port;
        private final boolean keepClientAddress;
        /** The endpoint index's revision the rules were looked up at (its named ports may change under a connection). */
        private long snapshotRevision = Long.MIN_VALUE;
        private long revision = Long.MIN_VALUE;
        private Optional<HttpPolicy> ingress = Optional.empty();
        private Optional<HttpPolicy> egress = Optional.empty();

        Connection(ProxyPeer client, ProxyPeer server, int port, boolean keepClientAddress) {
            this.client = client;
            this.server = server;
            this.port = port;
            this.keepClientAddress = keepClientAddress;
        }

        @Override
        public boolean keepClientAddress() {
            return keepClientAddress;
        }

        @Override
        public Verdict decide(HttpRequestInfo request) {
            PolicyRepository repo = policies.get();
            if (repo == null) return new Verdict(false, "proxy: no policy repository (fail closed)", null);
            long rev = repo.revision();
            EndpointIndex index = endpoints.get();
            EndpointSnapshot snap = index == null ? EndpointSnapshot.EMPTY : index.snapshot();
            if (rev != revision || snap.revision() != snapshotRevision) {
                PolicySet set = repo.current();
                // the named ports of the server's identity, local or on another node: what egress rules resolve on
                List<NamedPort> serverIdentityPorts = snap.namedPortsOf(server.identity());
                // as the datapath resolves names: ingress rules on the server endpoint's own ports, egress rules on
                // the ports of the server's identity (every endpoint of it, on any node)
                ingress = server.endpoint() == null ? Optional.empty()
                        : set.httpPolicy(Direction.INGRESS, server.labels(), client.labels(),
                        server.endpoint().namedPorts(), port, repo.mode());
                egress = client.endpoint() == null ? Optional.empty()
                        : set.httpPolicy(Direction.EGRESS, client.labels(), server.labels(), serverIdentityPorts, port,
                        repo.mode());
                revision = rev;
                snapshotRevision = snap.revision();
            }
            Decision last = null;
            for (Optional<HttpPolicy> p : List.of(egress, ingress)) {
                if (p.isEmpty()) continue;
                Decision d = p.get().decide(request);
                if (!d.allowed()) return new Verdict(false, d.rule(), policyOf(repo, d));
                last = d;
            }
            if (last == null) return new Verdict(true, "no L7 rule governs this path (allowed at L3/L4)", null);
            return new Verdict(true, last.rule(), policyOf(repo, last));
        }

        private String policyOf(PolicyRepository repo, Decision d) {
            if (d.ruleId() == 0) return null;
            try {
                return repo.current().rule(d.ruleId()).map(r -> r.policy()).orElse(null);
            } catch (RuntimeException e) {
                return null;
            }
        }

        @Override
        public FlowEndpoint client() {
            return client.flow();
        }

        @Override
        public FlowEndpoint server() {
            return server.flow();
        }

        @Override
        public String direction() {
            return server.endpoint() != null || client.endpoint() == null ? "INGRESS" : "EGRESS";
        }

        @Override
        public long endpointId() {
            if (server.endpoint() != null) return server.endpoint().id();
            return client.endpoint() == null ? 0 : client.endpoint().id();
        }
    }
}
