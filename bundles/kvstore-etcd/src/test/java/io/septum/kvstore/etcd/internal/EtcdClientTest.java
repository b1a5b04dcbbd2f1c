package io.septum.kvstore.etcd.internal;

import io.septum.kvstore.etcd.internal.EtcdClient.Compare;
import io.septum.kvstore.etcd.internal.EtcdClient.Op;
import io.septum.kvstore.etcd.internal.EtcdClient.WatchEvent;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The gateway client against a real etcd. */
class EtcdClientTest {
    @RegisterExtension
    static final TestEtcd.PerClass etcd = new TestEtcd.PerClass();
    private static EtcdClient client;

    @BeforeAll
    static void openClient() {
        client = etcd.client();
    }

    @Test
    void plaintextIsRefusedWithoutAllowInsecure() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new EtcdClient(new EtcdClient.Options(List.of(etcd.endpoint()), null, false, null)));
        assertTrue(e.getMessage().contains("allowInsecure=true"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new EtcdClient(new EtcdClient.Options(List.of(URI.create("tcp://127.0.0.1:1")), null, true, null)));
    }

    @Test
    void putGetRangeDelete() throws Exception {
        client.put("t/kv/a", "1", 0);
        client.put("t/kv/b", "2", 0);
        client.put("t/kvx", "other", 0);
        assertEquals("1", client.get("t/kv/a").first().value());
        assertEquals(List.of("t/kv/a", "t/kv/b"), client.getPrefix("t/kv/").kvs().stream().map(EtcdClient.KeyValue::key).toList());
        assertEquals(1, client.delete("t/kv/a"));
        assertNull(client.get("t/kv/a").first());
        assertEquals(1, client.deletePrefix("t/kv/"));
        assertNotNull(client.get("t/kvx").first());
    }

    @Test
    void createOnlyTxnRefusesAnExistingKey() throws Exception {
        assertTrue(client.putIfAbsent("t/once", "first", 0));
        assertFalse(client.putIfAbsent("t/once", "second", 0));
        assertEquals("first", client.get("t/once").first().value());
        // A failed txn runs its failure branch: here, a read of the winner.
        EtcdClient.TxnResult r = client.txn(List.of(Compare.absent("t/once")), List.of(new Op.Put("t/once", "third", 0)),
                List.of(new Op.Range("t/once", null)));
        assertFalse(r.succeeded());
        assertEquals("first", r.ranges().get(0).first().value());
        // An empty prefix range compares as absent; a populated one does not.
        assertTrue(client.txn(List.of(Compare.prefixAbsent("t/empty/")), List.of(), List.of()).succeeded());
        assertFalse(client.txn(List.of(Compare.prefixAbsent("t/on")), List.of(), List.of()).succeeded());
    }

    @Test
    void leaseKeepsKeysUntilRevokedAndLossIsDetected() throws Exception {
        try (LeaseSession lease = new LeaseSession(client, 3)) {
            long first = lease.id();
            client.put("t/leased", "x", first);
            assertEquals(first, client.get("t/leased").first().lease());
            // Someone revokes our lease (an operator, or expiry while partitioned): the next renewal sees it,
            // whether the session's own keep-alive (every second) or the renew() below comes first
            java.util.concurrent.atomic.AtomicLong renewed = new java.util.concurrent.atomic.AtomicLong();
            lease.onNewLease(renewed::set);
            client.revoke(first);
            assertNull(client.get("t/leased").first());
            lease.renew();
            assertEquals(1, lease.lostCount());
            assertTrue(lease.id() != first && renewed.get() == lease.id());
            assertTrue(client.timeToLive(lease.id()) > 0);
        }
    }

    @Test
    void watchDeliversPutsAndDeletesFromARevision() throws Exception {
        long before = client.put("t/w/seed", "0", 0);
        LinkedBlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
        // From a revision in the past: the seed put is replayed, then live changes follow.
        try (EtcdClient.Watch w = client.watch("t/w/", before, events::add, e -> { })) {
            WatchEvent seed = events.poll(5, TimeUnit.SECONDS);
            assertNotNull(seed);
            assertEquals("t/w/seed", seed.kv().key());
            client.put("t/w/a", "1", 0);
            client.put("t/other", "not watched", 0);
            client.delete("t/w/a");
            WatchEvent put = events.poll(5, TimeUnit.SECONDS);
            WatchEvent del = events.poll(5, TimeUnit.SECONDS);
            assertNotNull(put);
            assertNotNull(del);
            assertEquals("1", put.kv().value());
            assertFalse(put.delete());
            assertTrue(del.delete());
            assertEquals("t/w/a", del.kv().key());
            assertNull(events.poll(300, TimeUnit.MILLISECONDS));
            assertEquals(del.kv().modRevision(), w.revision());
        }
    }

    @Test
    void aWatchIsOpenOnceEtcdAnswersItEvenWithoutEvents() throws Exception {
        LinkedBlockingQueue<Exception> errors = new LinkedBlockingQueue<>();
        try (EtcdClient.Watch w = client.watch("t/quiet/", 0, e -> { }, errors::add)) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!w.open() && System.nanoTime() < end) Thread.sleep(20);
            assertTrue(w.open(), "etcd's created message opens it");
        }
        // nothing listens on a fresh port: never open, and every attempt is reported
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        EtcdClient nowhere = new EtcdClient(EtcdClient.Options.insecure(java.net.URI.create("http://127.0.0.1:" + port)));
        try (EtcdClient.Watch w = nowhere.watch("t/", 0, e -> { }, errors::add)) {
            assertNotNull(errors.poll(5, TimeUnit.SECONDS));
            assertFalse(w.open());
        }
    }
}
