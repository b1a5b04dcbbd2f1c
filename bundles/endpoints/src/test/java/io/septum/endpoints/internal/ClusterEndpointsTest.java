package io.septum.endpoints.internal;

import static io.septum.endpoints.internal.Fakes.await;
import static io.septum.endpoints.internal.Fakes.spec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.ClusterIdentities;
import io.septum.api.Endpoint;
import io.septum.api.EndpointState;
import io.septum.api.Identity;
import io.septum.api.IpcacheEntry;
import io.septum.api.Labels;
import io.septum.api.ReservedIdentity;
import io.septum.api.policy.Direction;
import io.septum.api.policy.PolicyEntry;
import io.septum.identity.internal.LocalIdentityAllocator;
import io.septum.kvstore.etcd.internal.EtcdClient;
import io.septum.kvstore.etcd.internal.IpcacheSync;
import io.septum.kvstore.etcd.internal.KvstoreIdentityAllocator;
import io.septum.kvstore.etcd.internal.LeaseSession;
import io.septum.kvstore.etcd.internal.TestEtcd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster mode through the real pieces: two endpoint managers ("nodes"), each with its own state directory, identity
 * table, etcd client, lease and ipcache sync, on one real etcd. Only the datapath and the host are fakes here (the
 * datapath's own tests send real packets); what is checked is what each node would write into its BPF maps.
 */
class ClusterEndpointsTest {
    /** One etcd for the class; each test starts on an empty cluster (its nodes closed first, then septum/ deleted). */
    @RegisterExtension
    static final TestEtcd.PerClass etcd = TestEtcd.PerClass.emptiedAfterEach("septum/");

    @TempDir
    Path dir;
    final List<Node> nodes = new ArrayList<>();

    @AfterEach
    void stopNodes() throws Exception {
        for (Node n : nodes) n.close();
    }

    /** One node: the same classes the agent wires together in cluster mode. */
    final class Node implements AutoCloseable {
        final String name;
        final EtcdClient client;
        final LeaseSession lease;
        final KvstoreIdentityAllocator store;
        final LocalIdentityAllocator identities;
        final IpcacheSync sync;
        final Fakes.FakeDatapath datapath;
        final Fakes.Policies policies = new Fakes.Policies();
        final Fakes.Host host = new Fakes.Host();
        final DefaultEndpointManager manager;
        boolean dead;

        Node(String name, String cidr, String address, long leaseTtl) throws Exception {
            this(name, cidr, address, leaseTtl, etcd.endpoint(), new Fakes.FakeDatapath(), Duration.ofSeconds(5), true);
        }

        /**
         * @param connectNow false: the manager starts first and {@link #connect()} binds the cluster later, as the
         *                   agent's cluster component does from its own thread
         */
        Node(String name, String cidr, String address, long leaseTtl, java.net.URI etcdUrl, Fakes.FakeDatapath datapath,
             Duration initialSyncTimeout, boolean connectNow) throws Exception {
            this.name = name;
            this.datapath = datapath;
            Path state = Files.createDirectories(dir.resolve(name));
            client = new EtcdClient(EtcdClient.Options.insecure(etcdUrl));
            lease = new LeaseSession(client, leaseTtl);
            store = new KvstoreIdentityAllocator(client, lease, KvstoreIdentityAllocator.DEFAULT_PREFIX, name, state);
            identities = new LocalIdentityAllocator(state, true);
            identities.setCluster(new ClusterIdentities() {
                @Override
                public long allocate(Labels labels) {
                    return store.allocate(labels).id();
                }

                @Override
                public void release(long id) {
                    store.release(id);
                }

                @Override
                public Optional<Identity> get(long id) {
                    return store.get(id);
                }
            });
            sync = new IpcacheSync(client, lease, new IpcacheSync.NodeInfo(name, List.of(address), List.of(cidr), "test",
                    System.currentTimeMillis()), Runnable::run);
            host.ifindexes.put("veth-" + name + "1", 11);
            host.ifindexes.put("veth-" + name + "2", 12);
            manager = new DefaultEndpointManager(new DefaultEndpointManager.Settings(state, Duration.ofSeconds(30),
                    Duration.ofMillis(100), "test-cluster", initialSyncTimeout), identities, policies, datapath, host,
                    since -> { });
            nodes.add(this);
            if (connectNow) connect();
        }

        void connect() {
            sync.start();
            manager.addListener(sync);
            manager.setRemoteEndpoints(sync);
        }

        Endpoint ready(String ep) throws InterruptedException {
            await(name + ": " + ep + " ready", () -> manager.get(ep).map(e -> e.state() == EndpointState.READY).orElse(false));
            return manager.get(ep).orElseThrow();
        }

        Optional<IpcacheEntry> ipcache(String prefix) {
            return datapath.ipcache.stream().filter(e -> e.prefix().equals(prefix)).findFirst();
        }

        /** A crash: the lease is no longer renewed (etcd expires it); nothing is cleaned up by the node itself. */
        void die() {
            dead = true;
            manager.close();
            sync.close();
            lease.abandon();
        }

        @Override
        public void close() throws Exception {
            if (!dead) {
                manager.close();
                sync.close();
                lease.close();
            }
            client.close();
        }
    }

    @Test
    void endpointsOfOneNodeAreIdentitiesAndIpcacheEntriesOnTheOther() throws Exception {
        Node a = new Node("node-a", "10.201.1.0/24", "192.0.2.11", 30);
        Node b = new Node("node-b", "10.201.2.0/24", "192.0.2.12", 30);
        b.policies.rules.add(new Fakes.Rule("netns:app=db", Direction.INGRESS, "netns:app=web", 5432, 77));
        a.manager.addSource(new Fakes.Source("netns", spec("w", "web", null, Map.of("app", "web"), "veth-node-a1", "10.201.1.5")));
        b.manager.addSource(new Fakes.Source("netns", spec("d", "db", null, Map.of("app", "db"), "veth-node-b1", "10.201.2.5"),
                spec("w2", "web-b", null, Map.of("app", "web"), "veth-node-b2", "10.201.2.6")));
        Endpoint web = a.ready("web");
        Endpoint db = b.ready("db");
        assertTrue(web.labels().contains("k8s:io.cilium.k8s.policy.cluster=test-cluster"), web.labels().toString());
        assertEquals(web.identity(), b.ready("web-b").identity(), "one label set, one number on every node");

        // B's ipcache names A's endpoint with A's identity, and A's node address as remote-node
        await("node-b learns node-a's endpoint", () -> b.ipcache("10.201.1.5/32").map(e -> e.identity() == web.identity()
                && e.source().equals("kvstore:node-a")).orElse(false));
        await("node-b learns node-a's address", () -> b.ipcache("192.0.2.11/32")
                .map(e -> e.identity() == ReservedIdentity.REMOTE_NODE.id()).orElse(false));
        // and B's policy for db admits that identity: a fromEndpoints rule selects a peer on another node
        await("db admits web's identity", () -> b.datapath.policy.getOrDefault(db.id(), List.of()).stream()
                .anyMatch((PolicyEntry p) -> p.identity() == web.identity() && p.port() == 5432));
        java.net.InetAddress webIp = java.net.InetAddress.getByName("10.201.1.5");
        await("the endpoint index answers for the remote address", () -> b.manager.snapshot().identityOf(webIp) == web.identity());
        assertEquals(b.manager.ipcache(), b.datapath.ipcache);
        // A learns B's endpoints too, and never lists its own as remote
        await("node-a learns node-b's db", () -> a.ipcache("10.201.2.5/32").map(e -> e.identity() == db.identity()).orElse(false));
        assertTrue(a.sync.list().stream().noneMatch(r -> r.node().equals("node-a")));
        assertEquals("kvstore:node-a", b.datapath.ipcache.stream().filter(e -> e.prefix().equals("10.201.1.5/32"))
                .findFirst().orElseThrow().source());
        assertTrue(a.ipcache("10.201.1.5/32").orElseThrow().source().startsWith("endpoint:"), "local entries stay local");
    }

    @Test
    void aNodeCannotClaimAddressesOutsideItsCidrs() throws Exception {
        Node a = new Node("node-a", "10.201.1.0/24", "192.0.2.11", 30);
        Node b = new Node("node-b", "10.201.2.0/24", "192.0.2.12", 30);
        b.manager.addSource(new Fakes.Source("netns", spec("d", "db", null, Map.of("app", "db"), "veth-node-b1", "10.201.2.5")));
        // A's own endpoint at an address of B's range: A does not publish it and says so
        a.manager.addSource(new Fakes.Source("netns", spec("r", "rogue", null, Map.of("app", "rogue"), "veth-node-a1", "10.201.2.99")));
        Endpoint rogue = a.ready("rogue");
        await("node-a reports it", () -> a.sync.problem() != null && a.sync.problem().contains("outside this node's CIDRs"));
        // a compromised node-a writes the key by hand, and a key under its own name naming another node
        String json = "{\"ip\":\"10.201.2.99\",\"identity\":" + rogue.identity() + ",\"node\":\"node-a\",\"namespace\":\"default\",\"name\":\"x\"}";
        a.client.put("septum/state/ip/v1/node-a/10.201.2.99", json, a.lease.id());
        a.client.put("septum/state/ip/v1/node-a/10.201.1.7", json.replace("10.201.2.99", "10.201.1.7").replace("\"node-a\"", "\"node-b\""), a.lease.id());
        a.client.put("septum/state/ip/v1/node-a/10.201.1.8", json.replace("10.201.2.99", "10.201.1.8").replace(":" + rogue.identity() + ",", ":1,"), a.lease.id());
        // a key that is valid, written last: once B has it, B has seen the bad ones before it
        a.client.put("septum/state/ip/v1/node-a/10.201.1.9", json.replace("10.201.2.99", "10.201.1.9"), a.lease.id());
        await("node-b takes the valid key", () -> b.ipcache("10.201.1.9/32").isPresent());
        assertTrue(b.ipcache("10.201.2.99/32").isEmpty(), "outside node-a's CIDRs: ignored " + b.datapath.ipcache);
        assertTrue(b.ipcache("10.201.1.7/32").isEmpty(), "value names another node: ignored");
        assertTrue(b.ipcache("10.201.1.8/32").isEmpty(), "reserved identity from a remote: ignored");
        assertEquals(b.manager.get("db").orElseThrow().identity(), b.ipcache("10.201.2.5/32").orElseThrow().identity());

        // a compromised node-a re-registers with every address as its own: it still cannot take node-b's own
        // addresses, its endpoint CIDR nor its node address, and an address two nodes claim goes to neither
        a.client.put("septum/state/nodes/v1/node-a", "{\"name\":\"node-a\",\"addresses\":[\"192.0.2.12\",\"192.0.2.1\",\"192.0.2.11\"],"
                + "\"cidrs\":[\"0.0.0.0/0\"],\"version\":\"x\",\"startTime\":0}", a.lease.id());
        a.client.put("septum/state/ip/v1/node-a/10.201.2.77", json.replace("10.201.2.99", "10.201.2.77"), a.lease.id());
        Node c = new Node("node-c", "10.201.3.0/24", "192.0.2.13", 30);
        c.manager.addSource(new Fakes.Source("netns", spec("x", "shared", null, Map.of("app", "x"), "veth-node-c1", "10.201.3.5")));
        c.ready("shared");
        // node-c's claim first (its publishing is asynchronous), then node-a's on top of it
        await("node-b takes node-c's endpoint", () -> b.ipcache("10.201.3.5/32").isPresent());
        a.client.put("septum/state/ip/v1/node-a/10.201.3.5", json.replace("10.201.2.99", "10.201.3.5"), a.lease.id());
        a.client.put("septum/state/ip/v1/node-a/10.201.1.10", json.replace("10.201.2.99", "10.201.1.10"), a.lease.id());
        await("node-b takes node-a's latest valid key", () -> b.ipcache("10.201.1.10/32").isPresent());
        assertTrue(b.ipcache("10.201.2.77/32").isEmpty(), "inside node-b's own CIDR: ignored");
        assertTrue(b.ipcache("192.0.2.12/32").isEmpty(), "node-b's own node address is not node-a's");
        assertEquals(ReservedIdentity.HOST.id(), b.ipcache("192.0.2.1/32").orElseThrow().identity(),
                "a host address of node-b stays reserved:host whatever another node claims");
        assertTrue(b.ipcache("10.201.3.5/32").isEmpty(), "claimed by node-a and node-c: neither gets it");
    }

    @Test
    void aDeadNodesEntriesExpireWithItsLease() throws Exception {
        Node a = new Node("node-a", "10.201.1.0/24", "192.0.2.11", 2);
        Node b = new Node("node-b", "10.201.2.0/24", "192.0.2.12", 30);
        a.manager.addSource(new Fakes.Source("netns", spec("w", "web", null, Map.of("app", "web"), "veth-node-a1", "10.201.1.5")));
        a.ready("web");
        await("node-b learns node-a's endpoint", () -> b.ipcache("10.201.1.5/32").isPresent());
        long died = System.nanoTime();
        a.die();
        // lease TTL plus etcd's expiry check
        await("node-a's entries leave node-b's ipcache", Duration.ofSeconds(20),
                () -> b.ipcache("10.201.1.5/32").isEmpty() && b.ipcache("192.0.2.11/32").isEmpty());
        System.out.printf("a dead node's entries left the other node's ipcache %d ms after it stopped renewing a 2 s lease%n",
                (System.nanoTime() - died) / 1_000_000);
        assertTrue(b.sync.nodes().isEmpty(), "node-a's registration expired too");
    }

    /** node-a with its web endpoint ready, as each restart of node-b starts; returns web's identity. */
    private long webReadyOnNodeA() throws Exception {
        Node a = new Node("node-a", "10.201.1.0/24", "192.0.2.11", 30);
        a.manager.addSource(new Fakes.Source("netns", spec("w", "web", null, Map.of("app", "web"), "veth-node-a1", "10.201.1.5")));
        return a.ready("web").identity();
    }

    /** A node-b that went through one life with a deny on node-a's web, and what its datapath pinned. */
    private Fakes.FakeDatapath firstLifeOfNodeB(long webIdentity) throws Exception {
        Node b = new Node("node-b", "10.201.2.0/24", "192.0.2.12", 30);
        b.policies.denies.add(new Fakes.Rule("netns:app=db", Direction.INGRESS, "netns:app=web", 5432, 66));
        b.manager.addSource(new Fakes.Source("netns", spec("d", "db", null, Map.of("app", "db"), "veth-node-b1", "10.201.2.5")));
        Endpoint db = b.ready("db");
        await("node-b denies web", () -> denies(b.datapath.policy.get(db.id()), webIdentity));
        b.close();
        nodes.remove(b);
        Fakes.FakeDatapath pinned = new Fakes.FakeDatapath();
        pinned.restored = b.datapath.pinned();
        pinned.ipcache = b.datapath.ipcache; // pinned maps outlive the agent
        return pinned;
    }

    /** node-b restarted on what its first life pinned, with etcd unreachable (nothing listens on port 1). */
    private Node nodeBRestartedWithoutEtcd(Fakes.FakeDatapath pinned, Duration initialSyncTimeout) throws Exception {
        return new Node("node-b", "10.201.2.0/24", "192.0.2.12", 30, java.net.URI.create("http://127.0.0.1:1"), pinned,
                initialSyncTimeout, true);
    }

    private static boolean denies(List<PolicyEntry> entries, long identity) {
        return entries != null && entries.stream().anyMatch(p -> p.identity() == identity
                && p.action() == io.septum.api.policy.PolicyAction.DENY && p.port() == 5432);
    }

    @Test
    void aDenyOnARemoteIdentityHoldsFromTheFirstRegenerationAfterARestart() throws Exception {
        long web = webReadyOnNodeA();
        Fakes.FakeDatapath pinned = firstLifeOfNodeB(web);

        // node-b restarts: its endpoint manager is up and its source reports db before the cluster's first listing
        Node b = new Node("node-b", "10.201.2.0/24", "192.0.2.12", 30, etcd.endpoint(), pinned, Duration.ofSeconds(20), false);
        b.policies.denies.add(new Fakes.Rule("netns:app=db", Direction.INGRESS, "netns:app=web", 5432, 66));
        Fakes.Source source = new Fakes.Source("netns", spec("d", "db", null, Map.of("app", "db"), "veth-node-b1", "10.201.2.5"));
        b.manager.addSource(source);
        await("db reported", () -> source.sink != null);
        b.manager.awaitIdle(Duration.ofSeconds(5));
        assertTrue(pinned.firstPolicy.isEmpty(), "nothing pushed before the first listing: " + pinned.firstPolicy);
        assertTrue(pinned.ipcacheSyncs.isEmpty(), "the pinned ipcache (with node-a's web) is kept meanwhile");
        assertTrue(b.manager.health().message().contains("waiting for the cluster's first listing"), b.manager.health().message());

        long connected = System.nanoTime();
        b.connect();
        Endpoint db = b.ready("db");
        assertTrue(denies(pinned.firstPolicy.get(db.id()), web),
                "the first policy pushed after the restart denies node-a's web: " + pinned.firstPolicy.get(db.id()));
        assertTrue(pinned.ipcacheSyncs.get(0).stream().anyMatch(e -> e.prefix().equals("10.201.1.5/32") && e.identity() == web),
                "the first ipcache pushed after the restart has node-a's web: " + pinned.ipcacheSyncs.get(0));
        System.out.printf("the gate opened %d ms after the cluster was bound%n",
                (pinned.firstPushNanos.get(db.id()) - connected) / 1_000_000);
        assertEquals("ok", b.manager.health().state(), b.manager.health().message());
    }

    @Test
    void aNodeWhoseEtcdIsUnreachableAtStartRegeneratesAfterTheTimeout() throws Exception {
        Fakes.FakeDatapath pinned = firstLifeOfNodeB(webReadyOnNodeA());

        // node-b restarts with etcd unreachable: it knows db's number from its cache
        long started = System.nanoTime();
        Node b = nodeBRestartedWithoutEtcd(pinned, Duration.ofSeconds(2));
        b.manager.addSource(new Fakes.Source("netns", spec("d", "db", null, Map.of("app", "db"), "veth-node-b1", "10.201.2.5")));
        await("db regenerated", Duration.ofSeconds(10), () -> !pinned.firstPolicy.isEmpty());
        assertEquals(1, pinned.firstPolicy.size(), "db regenerated after the timeout: " + pinned.calls);
        long after = (pinned.firstPushNanos.values().iterator().next() - started) / 1_000_000;
        assertTrue(after >= 2000, "not before the 2 s timeout: " + after + " ms");
        System.out.printf("with etcd unreachable, the first regeneration came %d ms after start (timeout 2 s)%n", after);
        Endpoint db = b.ready("db");
        assertEquals(EndpointState.READY, db.state());
        var health = b.manager.health();
        assertEquals("degraded", health.state(), health.message());
        assertTrue(health.message().contains("not in after 2 s") && health.message().contains("local state"), health.message());
        assertTrue(b.ipcache("10.201.1.5/32").isEmpty(), "remote peers are world until etcd is back: " + pinned.ipcache);
    }

    @Test
    void anEndpointTheKernelDoesNotEnforceIsPushedAtOnceWhileTheGateIsClosed() throws Exception {
        Fakes.FakeDatapath pinned = firstLifeOfNodeB(webReadyOnNodeA());

        // node-b restarts with etcd unreachable and a long gate: db keeps its pinned state, but a second db (a label
        // set with a cached number) that the kernel never enforced must not run without a program for 30 s
        long started = System.nanoTime();
        Node b = nodeBRestartedWithoutEtcd(pinned, Duration.ofSeconds(30));
        b.manager.addSource(new Fakes.Source("netns",
                spec("d", "db", null, Map.of("app", "db"), "veth-node-b1", "10.201.2.5"),
                spec("d2", "db-2", null, Map.of("app", "db"), "veth-node-b2", "10.201.2.6")));
        Endpoint db2 = b.ready("db-2");
        await("db-2 pushed while the gate is closed", Duration.ofSeconds(10), () -> pinned.firstPolicy.containsKey(db2.id()));
        long after = (pinned.firstPushNanos.get(db2.id()) - started) / 1_000_000;
        assertTrue(after < 10_000, "long before the 30 s gate: " + after + " ms");
        assertEquals(java.util.Set.of(db2.id()), pinned.firstPolicy.keySet(),
                "db keeps what the kernel holds until the gate opens: " + pinned.calls);
        System.out.printf("a new endpoint was pushed %d ms after a start with the gate closed (30 s)%n", after);
    }
}
