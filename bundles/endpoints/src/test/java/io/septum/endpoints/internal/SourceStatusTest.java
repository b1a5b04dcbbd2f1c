package io.septum.endpoints.internal;

import static io.septum.endpoints.internal.Fakes.await;
import static io.septum.endpoints.internal.Fakes.spec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.ComponentStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code septum status} says of a source that floods and of an endpoint the datapath refuses. */
class SourceStatusTest {
    @TempDir
    Path dir;
    final Fakes.FakeDatapath datapath = new Fakes.FakeDatapath();
    final Fakes.Host host = new Fakes.Host();
    DefaultEndpointManager manager;

    @AfterEach
    void close() {
        if (manager != null) manager.close();
    }

    private DefaultEndpointManager manager() throws InterruptedException {
        AtomicLong ready = new AtomicLong();
        manager = new DefaultEndpointManager(new DefaultEndpointManager.Settings(dir, Duration.ofSeconds(30),
                Duration.ofMillis(100)), new Fakes.Allocator(), new Fakes.Policies(), datapath, host, ready::set);
        await("agent ready", () -> ready.get() > 0);
        return manager;
    }

    @Test
    void statusNamesTheSourceThatFloodsAndNotTheOthers() throws Exception {
        for (int i = 0; i < 5; i++) host.ifindexes.put("veth-f" + i, 100 + i);
        host.ifindexes.put("veth-q", 10);
        var m = manager();
        var noisy = new Fakes.EditableSource("docker");
        m.addSource(noisy);
        m.addSource(new Fakes.Source("netns", spec("q", "q", null, Map.of("app", "q"), "veth-q", "10.199.0.9")));
        await("noisy source open", () -> noisy.sink != null);
        // 5 endpoints, 2,000 reports: 400 each, within a second here (the window is 10 s)
        for (int i = 0; i < 2_000; i++) {
            int k = i % 5;
            noisy.sink.upsert(spec("f" + k, "f" + k, null, Map.of("gen", "g" + i % 3), "veth-f" + k, "10.198.0." + (k + 1)));
        }
        var health = m.sources();
        String docker = health.stream().filter(h -> h.source().equals("docker")).findFirst().orElseThrow().error();
        assertTrue(docker != null && docker.startsWith("floods the endpoint manager: 2000 reports for 5 endpoint(s)"),
                "the flooding source is named: " + docker);
        assertNull(health.stream().filter(h -> h.source().equals("netns")).findFirst().orElseThrow().error(),
                "the quiet source is not");
    }

    @Test
    void manyEndpointsReportedOnceEachAreNoFlood() throws Exception {
        var m = manager();
        var big = new Fakes.EditableSource("kubernetes");
        m.addSource(big);
        await("source open", () -> big.sink != null);
        // a cluster's first listing: 3,000 pods, one report each (their interfaces do not exist: that is not a flood)
        for (int i = 0; i < 3_000; i++) {
            big.sink.upsert(spec("p" + i, "p" + i, "default", Map.of("app", "a"), "veth-p" + i, "10.197." + i / 250 + "." + (i % 250 + 1)));
        }
        assertNull(m.sources().get(0).error());
    }

    @Test
    void statusNamesWhatRefusedAFailingEndpoint() throws Exception {
        host.ifindexes.put("veth-a", 10);
        var m = manager();
        datapath.failUpserts = Integer.MAX_VALUE;
        m.addSource(new Fakes.Source("netns", spec("a", "web", null, Map.of("x", "1"), "veth-a", "10.199.0.1")));
        await("the endpoint fails", () -> m.health().state().equals("degraded"));
        ComponentStatus s = m.health();
        assertTrue(s.message().matches("1 endpoints, 0 ready, 1 failing; endpoint \\d+ \\(web\\): .*policy map full.*"),
                s.message());
        datapath.failUpserts = 0;
        await("ready again", () -> m.health().state().equals("ok"));
        assertEquals("1 endpoints, 1 ready", m.health().message());
    }
}
