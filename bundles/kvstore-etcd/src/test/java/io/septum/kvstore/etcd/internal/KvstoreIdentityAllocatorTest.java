package io.septum.kvstore.etcd.internal;

import io.septum.api.Identity;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.ReservedIdentity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Cluster-wide identities against a real etcd: several "nodes" are allocators with their own client and lease. */
class KvstoreIdentityAllocatorTest {
    @RegisterExtension
    static final TestEtcd.PerClass etcd = new TestEtcd.PerClass();
    private static int run;
    private final List<LeaseSession> leases = new ArrayList<>();
    private String prefix;
    @TempDir
    Path tmp;

    @AfterEach
    void revokeLeases() {
        leases.forEach(LeaseSession::close);
    }

    private KvstoreIdentityAllocator node(String name, long ttl) {
        if (prefix == null) prefix = "test" + (++run) + "/identities/v1";
        EtcdClient client = etcd.client();
        LeaseSession lease = new LeaseSession(client, ttl);
        leases.add(lease);
        return new KvstoreIdentityAllocator(client, lease, prefix, name, tmp.resolve(name));
    }

    private static Labels labels(String... l) {
        return Labels.parse(Arrays.asList(l), Label.ANY);
    }

    @Test
    void concurrentNodesGetOneNumberPerLabelSet() throws Exception {
        int n = 5;
        List<KvstoreIdentityAllocator> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) nodes.add(node("node-" + i, 30));
        Labels shared = labels("k8s:app=web", "k8s:io.kubernetes.pod.namespace=default", "k8s:app.kubernetes.io/name=web");
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            long[] sameIds = race(pool, nodes, i -> shared, "same label set");
            for (long id : sameIds) assertEquals(sameIds[0], id, "every node has the same number: " + Arrays.toString(sameIds));
            assertTrue(sameIds[0] >= ReservedIdentity.FIRST_ALLOCATED && sameIds[0] <= ReservedIdentity.LAST_ALLOCATED);
            EtcdClient c = etcd.client();
            assertEquals(n, c.getPrefix(prefix + "/value/").kvs().size(), "one reference per node");
            assertEquals(1, c.getPrefix(prefix + "/id/").kvs().size(), "one master");
            assertEquals(KvstoreIdentityAllocator.encode(shared), c.get(prefix + "/id/" + sameIds[0]).first().value());
            assertEquals(0, c.get(prefix + "/id/" + sameIds[0]).first().lease(), "masters carry no lease");

            long[] distinct = race(pool, nodes, i -> labels("k8s:app=svc" + i), "distinct label sets");
            Set<Long> unique = new HashSet<>();
            for (long id : distinct) unique.add(id);
            assertEquals(n, unique.size(), "distinct label sets get distinct numbers: " + Arrays.toString(distinct));
            assertTrue(!unique.contains(sameIds[0]));
            // Another node reads every number back with its labels.
            for (int i = 0; i < n; i++) {
                Identity got = nodes.get((i + 1) % n).get(distinct[i]).orElseThrow();
                assertEquals(labels("k8s:app=svc" + i).asStrings(), got.labels());
            }
            long conflicts = nodes.stream().mapToLong(KvstoreIdentityAllocator::conflicts).sum();
            System.out.println("kvstore-etcd: " + n + " concurrent allocators, lost races in total: " + conflicts);
        } finally {
            pool.shutdownNow();
        }
    }

    private interface LabelsFor {
        Labels of(int node);
    }

    /** All nodes allocate at once (released together by a latch); returns their numbers and prints the latencies. */
    private static long[] race(ExecutorService pool, List<KvstoreIdentityAllocator> nodes, LabelsFor labels, String what)
            throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<long[]>> futures = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            int idx = i;
            Callable<long[]> task = () -> {
                go.await();
                long t0 = System.nanoTime();
                long id = nodes.get(idx).allocate(labels.of(idx)).id();
                return new long[] {id, System.nanoTime() - t0};
            };
            futures.add(pool.submit(task));
        }
        go.countDown();
        long[] ids = new long[nodes.size()];
        long[] micros = new long[nodes.size()];
        for (int i = 0; i < ids.length; i++) {
            long[] r = futures.get(i).get(30, TimeUnit.SECONDS);
            ids[i] = r[0];
            micros[i] = r[1] / 1000;
        }
        Arrays.sort(micros);
        System.out.println("kvstore-etcd: " + nodes.size() + " concurrent allocators, " + what + ": latency ms min "
                + micros[0] / 1000.0 + " median " + micros[micros.length / 2] / 1000.0 + " max "
                + micros[micros.length - 1] / 1000.0);
        return ids;
    }

    @Test
    void leaseExpiryRemovesADeadNodesReferencesAndGcFreesTheNumberInTwoRounds() throws Exception {
        KvstoreIdentityAllocator dying = node("dying", 2);
        KvstoreIdentityAllocator alive = node("alive", 30);
        Labels l = labels("k8s:app=db");
        long id = dying.allocate(l).id();
        assertEquals(id, alive.allocate(l).id());
        EtcdClient c = etcd.client();
        String masterKey = prefix + "/id/" + id;
        String valuePrefix = prefix + "/value/" + KvstoreIdentityAllocator.segment(KvstoreIdentityAllocator.encode(l)) + "/";
        assertEquals(2, c.getPrefix(valuePrefix).kvs().size());

        // The dying node stops renewing (a crash): etcd expires its lease and its reference with it.
        leases.get(0).abandon();
        long t0 = System.nanoTime();
        while (c.get(valuePrefix + "dying").first() != null) {
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(15), "the dead node's reference outlived its lease");
            Thread.sleep(100);
        }
        System.out.println("kvstore-etcd: a dead node's reference (TTL 2 s) vanished after "
                + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertNotNull(c.get(valuePrefix + "alive").first(), "the live node's reference stays");
        assertNotNull(c.get(masterKey).first(), "masters have no lease");

        IdentityGc gc = new IdentityGc(c, prefix);
        assertEquals(new IdentityGc.Round(1, 1, 0, 0), gc.run(), "referenced: left alone");
        alive.release(id);
        assertNull(c.get(valuePrefix + "alive").first(), "the last release deletes the node's reference");
        assertEquals(new IdentityGc.Round(1, 0, 1, 0), gc.run(), "round 1 only marks");
        assertNotNull(c.get(masterKey).first());
        assertEquals(new IdentityGc.Round(1, 0, 0, 1), gc.run(), "round 2 deletes what is still unreferenced");
        assertNull(c.get(masterKey).first());
    }

    @Test
    void gcSparesAMasterThatIsReferencedOrChangedBetweenRounds() throws Exception {
        KvstoreIdentityAllocator a = node("a", 30);
        KvstoreIdentityAllocator b = node("b", 30);
        EtcdClient c = etcd.client();
        IdentityGc gc = new IdentityGc(c, prefix);
        long x = a.allocate(labels("k8s:app=x")).id();
        long y = a.allocate(labels("k8s:app=y")).id();
        a.release(x);
        a.release(y);
        assertEquals(2, gc.run().marked());
        // Between the rounds another node starts using x (it reuses the unreferenced master: same number),
        // and y's master is rewritten (its mod revision changes).
        assertEquals(x, b.allocate(labels("k8s:app=x")).id());
        String yKey = prefix + "/id/" + y;
        c.put(yKey, c.get(yKey).first().value(), 0);
        IdentityGc.Round r = gc.run();
        assertEquals(0, r.deleted(), "referenced or changed masters are not deleted: " + r);
        assertNotNull(c.get(prefix + "/id/" + x).first());
        assertNotNull(c.get(yKey).first());
        assertEquals(1, gc.run().deleted(), "y is deleted one round after its change");
        assertNull(c.get(yKey).first());
    }

    @Test
    void createOnlyAllocationNeverOverwritesAnotherNodesMaster() throws Exception {
        KvstoreIdentityAllocator a = node("a", 30);
        EtcdClient c = etcd.client();
        // A master written by someone else at the lowest number: the allocator must not take it over.
        c.put(prefix + "/id/" + ReservedIdentity.FIRST_ALLOCATED, "k8s:app=foreign;", 0);
        long id = a.allocate(labels("k8s:app=mine")).id();
        assertTrue(id != ReservedIdentity.FIRST_ALLOCATED);
        assertEquals("k8s:app=foreign;", c.get(prefix + "/id/" + ReservedIdentity.FIRST_ALLOCATED).first().value());
        assertEquals(ReservedIdentity.HOST.id(), a.allocate(labels("reserved:host")).id(), "reserved numbers stay Cilium's");
        assertThrows(IllegalArgumentException.class, () -> a.allocate(labels("cidr:10.0.0.0/8")));
    }

    @Test
    void aRestartWithEtcdDownKeepsCachedNumbersAndRefusesNewOnes() throws Exception {
        KvstoreIdentityAllocator a = node("a", 30);
        Labels known = labels("k8s:app=cached");
        long id = a.allocate(known).id();
        // Same state directory, etcd unreachable (a port nobody listens on): the agent restarts while etcd is down.
        EtcdClient down = new EtcdClient(new EtcdClient.Options(List.of(URI.create("http://127.0.0.1:9")), null, true,
                java.time.Duration.ofMillis(500)));
        LeaseSession noLease = new LeaseSession(down, 30);
        leases.add(noLease);
        assertEquals(0, noLease.id());
        KvstoreIdentityAllocator restarted = new KvstoreIdentityAllocator(down, noLease, prefix, "a", tmp.resolve("a"));
        assertEquals(id, restarted.allocate(known).id(), "the cached number survives");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> restarted.allocate(labels("k8s:app=never-seen")));
        assertTrue(e.getMessage().contains("no cached number"), e.getMessage());
    }

    @Test
    void labelStringsRoundTripWithSeparatorsInValues() {
        Labels l = labels("container:note=a;b\\c", "k8s:app.kubernetes.io/name=x");
        assertEquals(l, KvstoreIdentityAllocator.decode(KvstoreIdentityAllocator.encode(l)));
        assertTrue(!KvstoreIdentityAllocator.segment(KvstoreIdentityAllocator.encode(l)).contains("/"));
    }
}
