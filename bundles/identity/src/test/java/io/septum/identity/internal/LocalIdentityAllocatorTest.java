package io.septum.identity.internal;

import io.septum.api.Identity;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.ReservedIdentity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

class LocalIdentityAllocatorTest {
    @TempDir
    Path dir;

    private static Labels labels(String... s) {
        return Labels.parse(List.of(s), Label.ANY);
    }

    @Test
    void sameLabelSetKeepsItsNumberAcrossInstances() {
        LocalIdentityAllocator a = new LocalIdentityAllocator(dir);
        Identity empire = a.allocate(labels("netns:org=empire", "k8s:io.kubernetes.pod.namespace=default"));
        Identity alliance = a.allocate(labels("netns:org=alliance", "k8s:io.kubernetes.pod.namespace=default"));
        assertEquals(ReservedIdentity.FIRST_ALLOCATED, empire.id());
        assertNotEquals(empire.id(), alliance.id());
        // Label order must not matter: the set is the key.
        assertEquals(empire, a.allocate(labels("k8s:io.kubernetes.pod.namespace=default", "netns:org=empire")));
        assertTrue(Files.exists(dir.resolve("identities.json")));

        LocalIdentityAllocator b = new LocalIdentityAllocator(dir);
        assertEquals(alliance.id(), b.allocate(labels("netns:org=alliance", "k8s:io.kubernetes.pod.namespace=default")).id());
        assertEquals(empire.id(), b.lookup(labels("netns:org=empire", "k8s:io.kubernetes.pod.namespace=default")).orElseThrow().id());
        Identity fresh = b.allocate(labels("netns:org=neutral"));
        assertTrue(fresh.id() > alliance.id(), "a new set after restart must not take a persisted number");
    }

    @Test
    void releasedNumbersAreNotReused() {
        LocalIdentityAllocator a = new LocalIdentityAllocator(dir);
        Identity x = a.allocate(labels("netns:app=x"));
        a.release(x.id());
        assertEquals(0, a.references(x.id()));
        assertFalse(a.list().stream().anyMatch(i -> i.id() == x.id()), "unreferenced identity is not listed");
        Identity y = a.allocate(labels("netns:app=y"));
        assertNotEquals(x.id(), y.id());
        assertEquals(x.id(), a.allocate(labels("netns:app=x")).id(), "a returning label set gets its old number");
        assertEquals(x.id(), new LocalIdentityAllocator(dir).lookup(labels("netns:app=x")).orElseThrow().id());
    }

    @Test
    void reservedLabelSetsGetCiliumNumbers() {
        LocalIdentityAllocator a = new LocalIdentityAllocator(dir);
        assertEquals(1, a.allocate(labels("reserved:host")).id());
        assertEquals(2, a.allocate(labels("reserved:world")).id());
        assertEquals(3, a.allocate(labels("reserved:unmanaged")).id());
        assertEquals(4, a.allocate(labels("reserved:health")).id());
        assertEquals(5, a.allocate(labels("reserved:init")).id());
        assertTrue(a.allocate(labels("reserved:host")).reserved());
        assertEquals("reserved:host", a.get(1).orElseThrow().labels().get(0));
        // reserved:host plus another label is not the host.
        assertTrue(a.allocate(labels("reserved:host", "netns:app=x")).id() >= ReservedIdentity.FIRST_ALLOCATED);
        List<Long> ids = a.list().stream().map(Identity::id).toList();
        assertTrue(ids.containsAll(List.of(1L, 2L, 3L, 4L, 5L)));
    }

    @Test
    void cidrLabelSetsGetLocalNumbers() {
        LocalIdentityAllocator a = new LocalIdentityAllocator(dir);
        Identity c1 = a.allocate(labels("cidr:10.199.0.0/16", "reserved:world"));
        Identity c2 = a.allocate(labels("cidr:10.198.1.1/32", "reserved:world"));
        Identity c6 = a.allocate(labels("cidr:fd00::/64"));
        assertEquals(ReservedIdentity.FIRST_LOCAL, c1.id());
        assertTrue(c2.id() > ReservedIdentity.FIRST_LOCAL && c6.id() > ReservedIdentity.FIRST_LOCAL);
        Identity notCidr = a.allocate(labels("cidr:10.0.0.0/8", "netns:app=x"));
        assertTrue(notCidr.id() < ReservedIdentity.FIRST_LOCAL);
        assertEquals(c2.id(), new LocalIdentityAllocator(dir).allocate(labels("reserved:world", "cidr:10.198.1.1/32")).id());
    }

    @Test
    void concurrentAllocationsAgree() throws Exception {
        LocalIdentityAllocator a = new LocalIdentityAllocator(dir);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            ConcurrentHashMap<String, Set<Long>> seen = new ConcurrentHashMap<>();
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 50; i++) {
                        String app = "netns:app=a" + i;
                        Identity id = a.allocate(labels(app));
                        seen.computeIfAbsent(app, k -> ConcurrentHashMap.newKeySet()).add(id.id());
                    }
                }));
            }
            for (Future<?> f : futures) f.get();
            Set<Long> all = new HashSet<>();
            for (var e : seen.entrySet()) {
                assertEquals(1, e.getValue().size(), "one number per label set: " + e);
                all.addAll(e.getValue());
            }
            assertEquals(50, all.size(), "distinct label sets get distinct numbers");
            assertEquals(8, a.references(seen.get("netns:app=a7").iterator().next()));
            LocalIdentityAllocator b = new LocalIdentityAllocator(dir);
            for (var e : seen.entrySet()) {
                assertEquals(e.getValue().iterator().next(), b.lookup(labels(e.getKey())).orElseThrow().id());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void corruptFileIsMovedAsideAndReported() throws Exception {
        Files.writeString(dir.resolve("identities.json"), "{not json");
        LocalIdentityAllocator a = new LocalIdentityAllocator(dir);
        assertEquals("degraded", a.health().state());
        assertTrue(Files.exists(dir.resolve("identities.json.corrupt")));
        assertEquals(ReservedIdentity.FIRST_ALLOCATED, a.allocate(labels("netns:a=b")).id());
        assertEquals("degraded", a.health().state(), "the status keeps saying identities were renumbered at start");
    }

    @Test
    void anEmptyTableIsDamageNotAFreshStart() throws Exception {
        for (String content : new String[] {"", "   \n", "null", "[]"}) {
            Path d = Files.createDirectories(dir.resolve("case" + content.trim().length() + content.hashCode()));
            Files.writeString(d.resolve(LocalIdentityAllocator.FILE), content);
            LocalIdentityAllocator a = new LocalIdentityAllocator(d);
            assertEquals("degraded", a.health().state(), "content \"" + content + "\"");
            assertTrue(a.health().message().contains("empty or not a JSON object"), a.health().message());
            assertTrue(Files.exists(d.resolve(LocalIdentityAllocator.FILE + ".corrupt")), "kept aside for the operator");
            a.allocate(Labels.of(new Label("netns", "app", "web")));
            assertEquals("degraded", a.health().state(), "a later good write does not hide what happened at start");
        }
    }
}
