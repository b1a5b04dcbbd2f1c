package io.septum.identity.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.ClusterIdentities;
import io.septum.api.Identity;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.ReservedIdentity;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local table in cluster mode: numbers come from the store, are kept here, and nothing is invented locally. */
class ClusterModeTest {
    @TempDir
    Path dir;

    /** A store that numbers label sets from 1000 (another node's numbering) and counts references. */
    static final class Store implements ClusterIdentities {
        final Map<String, Long> numbers = new ConcurrentHashMap<>();
        final Map<Long, Integer> refs = new ConcurrentHashMap<>();
        final AtomicInteger next = new AtomicInteger(1000);
        volatile boolean down;

        @Override
        public long allocate(Labels labels) {
            if (down && !numbers.containsKey(labels.toString())) throw new IllegalStateException("etcd unreachable (test)");
            long id = numbers.computeIfAbsent(labels.toString(), k -> (long) next.getAndIncrement());
            refs.merge(id, 1, Integer::sum);
            return id;
        }

        @Override
        public void release(long id) {
            refs.computeIfPresent(id, (k, n) -> n <= 1 ? null : n - 1);
        }

        @Override
        public Optional<Identity> get(long id) {
            return numbers.entrySet().stream().filter(e -> e.getValue() == id).findFirst()
                    .map(e -> new Identity(id, List.of(e.getKey().split(",")), false));
        }
    }

    static Labels web() {
        return Labels.of(new Label("netns", "app", "web"));
    }

    @Test
    void endpointLabelSetsWaitForTheStoreThenTakeItsNumber() {
        LocalIdentityAllocator a = new LocalIdentityAllocator(dir, true);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.allocate(web()));
        assertTrue(e.getMessage().contains("cluster mode is configured"), e.getMessage());
        assertTrue(a.health().message().contains("waiting for the store"), a.health().message());

        Store store = new Store();
        a.setCluster(store);
        Identity web = a.allocate(web());
        assertEquals(1000, web.id());
        assertEquals(1, store.refs.get(1000L));
        assertEquals(ReservedIdentity.HOST.id(), a.allocate(Labels.of(Label.reserved("host"))).id());
        Identity cidr = a.allocate(Labels.of(new Label(Label.CIDR, "10.0.0.0/8", "")));
        assertTrue(cidr.id() >= ReservedIdentity.FIRST_LOCAL, "CIDR identities stay node-local: " + cidr);
        assertTrue(store.numbers.keySet().stream().noneMatch(k -> k.contains("cidr")), "never sent to the store");

        a.release(1000);
        assertTrue(store.refs.get(1000L) == null, "the store's reference goes with the last local one");

        // a number another node allocated: its labels come from the store
        store.numbers.put(Labels.of(new Label("netns", "app", "db")).toString(), 1234L);
        assertEquals(1234, a.get(1234).orElseThrow().id());
    }

    @Test
    void aRestartWithTheStoreDownKeepsKnownNumbersAndNewLabelSetsWait() {
        Store store = new Store();
        LocalIdentityAllocator a = new LocalIdentityAllocator(dir, true);
        a.setCluster(store);
        long id = a.allocate(web()).id();

        Store down = new Store();
        down.down = true;
        down.numbers.putAll(store.numbers); // the store allocator's own cache knows this node's numbers
        LocalIdentityAllocator b = new LocalIdentityAllocator(dir, true);
        assertEquals(id, b.lookup(web()).orElseThrow().id(), "persisted here");
        b.setCluster(down);
        assertEquals(id, b.allocate(web()).id());
        assertThrows(IllegalStateException.class, () -> b.allocate(Labels.of(new Label("netns", "app", "new"))));
    }

    @Test
    void theStoresNumberReplacesAStandaloneOne() {
        LocalIdentityAllocator standalone = new LocalIdentityAllocator(dir);
        long local = standalone.allocate(web()).id();
        Store store = new Store();
        LocalIdentityAllocator a = new LocalIdentityAllocator(dir, true);
        a.setCluster(store);
        long clustered = a.allocate(web()).id();
        assertEquals(1000, clustered);
        assertTrue(local != clustered);
        assertTrue(a.get(local).isEmpty(), "the old local number is gone");
        assertEquals(clustered, new LocalIdentityAllocator(dir, true).lookup(web()).orElseThrow().id());
    }
}
