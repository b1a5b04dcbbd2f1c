package io.septum.endpoints.internal;

import io.septum.api.EndpointSink;
import io.septum.api.EndpointSpec;
import io.septum.api.SourceHealth;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static io.septum.endpoints.internal.Fakes.await;
import static io.septum.endpoints.internal.Fakes.spec;
import static org.junit.jupiter.api.Assertions.*;

class SourceRegistryTest {
    final Object lock = new Object();
    final SourceRegistry registry = new SourceRegistry(lock);
    final List<String> reported = new CopyOnWriteArrayList<>();
    final SourceConnection.Reports reports = new SourceConnection.Reports() {
        @Override
        public void upsert(SourceConnection from, EndpointSpec spec) {
            reported.add(from.name + " upsert " + spec.sourceId());
        }

        @Override
        public void remove(SourceConnection from, String sourceId) {
            reported.add(from.name + " remove " + sourceId);
        }

        @Override
        public void resync(SourceConnection from, Set<String> liveSourceIds) {
            reported.add(from.name + " resync " + liveSourceIds);
        }

        @Override
        public void namespaceLabels(SourceConnection from, String namespace, Map<String, String> labels) {
            reported.add(from.name + " namespace " + namespace);
        }
    };

    @AfterEach
    void shutdown() {
        registry.shutdown();
    }

    boolean add(SourceConnection c) {
        synchronized (lock) {
            return registry.add(c);
        }
    }

    @Test
    void aSourceWhoseNameIsNotALowercaseLabelOrCannotBeHadIsRefused() {
        assertNull(SourceRegistry.connection(new Fakes.Source("Not A Label"), reports));
        assertNull(SourceRegistry.connection(new Fakes.Source("reserved"), reports));
        assertNull(SourceRegistry.connection(new Fakes.Source("x") {
            @Override
            public String name() {
                throw new IllegalStateException("not configured");
            }
        }, reports));
        assertEquals("netns", SourceRegistry.connection(new Fakes.Source("netns"), reports).name);
    }

    @Test
    void aSecondSourceOfTheSameNameIsIgnoredAndAnUnboundOneIsDeaf() throws Exception {
        var first = new Fakes.Source("netns", spec("a", "a", null, Map.of(), "veth-a"));
        var second = new Fakes.Source("netns");
        SourceConnection c = SourceRegistry.connection(first, reports);
        assertTrue(add(c));
        assertFalse(add(SourceRegistry.connection(second, reports)));
        registry.open(c);
        await("opened", () -> first.sink != null);
        assertEquals(List.of("netns upsert a", "netns resync [a]"), reported);

        synchronized (lock) {
            assertNull(registry.remove(second), "the ignored one was never bound");
            assertSame(c, registry.remove(first));
        }
        assertTrue(c.closed);
        registry.close(c);
        await("closed", () -> first.closed);
        first.sink.upsert(spec("b", "b", null, Map.of(), "veth-b"));
        assertEquals(2, reported.size(), "nothing reported after the unbinding");
        assertNull(registry.get("netns"));
    }

    @Test
    void aSourceThatFailsToOpenSaysSoInItsHealth() throws Exception {
        SourceConnection c = SourceRegistry.connection(new Fakes.Source("docker") {
            @Override
            public void open(EndpointSink sink) {
                throw new IllegalStateException("no docker socket");
            }
        }, reports);
        add(c);
        registry.open(c);
        await("open failed", () -> c.health != null);
        assertEquals(List.of(new SourceHealth("docker", false, 0, "open failed: no docker socket")), registry.health());
    }

    @Test
    void aSourceThatBlocksInOpenHoldsUpOnlyItselfAndItsHealthSaysSo() throws Exception {
        SourceRegistry quick = new SourceRegistry(lock, () -> { }, java.time.Duration.ofMillis(200));
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        var stuck = new Fakes.Source("stuck") {
            @Override
            public void open(EndpointSink sink) {
                try {
                    release.await(); // a faulty source: it watches on the caller's thread
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        var fine = new Fakes.Source("netns", spec("a", "a", null, Map.of(), "veth-a"));
        try {
            SourceConnection s = SourceRegistry.connection(stuck, reports);
            SourceConnection f = SourceRegistry.connection(fine, reports);
            synchronized (lock) {
                assertTrue(quick.add(s) && quick.add(f));
            }
            quick.open(s);
            quick.open(f);
            await("the other source opened and reported", () -> reported.contains("netns upsert a"));
            await("the stuck source is named", () -> quick.health().stream().anyMatch(h -> h.source().equals("stuck")
                    && !h.connected() && h.error() != null && h.error().contains("blocks in open()")));
            assertTrue(quick.health().stream().anyMatch(h -> h.source().equals("netns") && h.connected()));
            release.countDown();
            await("healthy once open returns", () -> quick.health().stream().allMatch(SourceHealth::connected));
        } finally {
            release.countDown();
            quick.shutdown();
        }
    }

    @Test
    void theOperatorsEndpointsGoOnlyToARunningSourceThatTakesThem() {
        var editable = new Fakes.EditableSource("netns");
        SourceConnection c = SourceRegistry.connection(editable, reports);
        add(c);
        add(SourceRegistry.connection(new Fakes.Source("docker"), reports));
        editable.sink = c;
        registry.addFromOperator("netns", spec("w", "web", null, Map.of(), "veth-w"));
        assertEquals(List.of("netns upsert w"), reported);

        var readOnly = assertThrows(IllegalArgumentException.class,
                () -> registry.addFromOperator("docker", spec("x", "x", null, Map.of(), null)));
        assertTrue(readOnly.getMessage().endsWith("(sources that do: netns)"), readOnly.getMessage());
        var missing = assertThrows(IllegalArgumentException.class,
                () -> registry.addFromOperator("libvirt", spec("x", "x", null, Map.of(), null)));
        assertTrue(missing.getMessage().contains("(running: netns, docker)"), missing.getMessage());

        List<SourceConnection> all;
        synchronized (lock) {
            all = registry.removeAll();
        }
        assertEquals(2, all.size());
        all.forEach(SourceRegistry::closeNow);
        assertTrue(editable.closed && all.stream().allMatch(s -> s.closed));
        assertEquals(List.of(), registry.health());
    }
}
