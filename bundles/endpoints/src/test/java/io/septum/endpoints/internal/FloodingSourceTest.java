package io.septum.endpoints.internal;

import static io.septum.endpoints.internal.Fakes.await;
import static io.septum.endpoints.internal.Fakes.spec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Endpoint;
import io.septum.api.EndpointState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A source that floods the agent with reports (a faulty bundle, a Docker daemon replaying events) must not hold up
 * the other sources: their endpoints are realized while the flood goes on, the flood's reports coalesce into
 * passes instead of one pass each, and when it stops every flooded endpoint ends with the last thing it reported.
 */
class FloodingSourceTest {
    static final int FLOODED = 50;

    @TempDir
    Path dir;
    final Fakes.FakeDatapath datapath = new Fakes.FakeDatapath();
    final Fakes.Host host = new Fakes.Host();
    final AtomicLong ready = new AtomicLong();
    DefaultEndpointManager manager;
    Thread flood;
    final AtomicBoolean stop = new AtomicBoolean();

    @AfterEach
    void close() throws InterruptedException {
        stop.set(true);
        if (flood != null) flood.join(10_000);
        if (manager != null) manager.close();
    }

    @Test
    void anotherSourcesEndpointIsRealizedWhileOneSourceFloodsAndTheFloodEndsConsistent() throws Exception {
        host.ifindexes.put("veth-quiet", 10);
        for (int i = 0; i < FLOODED; i++) host.ifindexes.put("veth-f" + i, 100 + i);
        manager = new DefaultEndpointManager(new DefaultEndpointManager.Settings(dir, Duration.ofSeconds(30),
                Duration.ofMillis(100)), new Fakes.Allocator(), new Fakes.Policies(), datapath, host, ready::set);
        await("agent ready", () -> ready.get() > 0);
        var noisy = new Fakes.EditableSource("docker");
        manager.addSource(noisy);
        await("noisy source open", () -> noisy.sink != null);

        // the flood: each of 50 endpoints reported again and again with a label that keeps changing (so each
        // report changes its identity), as fast as the sink takes them; bounded in time and in count
        AtomicLong reports = new AtomicLong();
        AtomicBoolean flooding = new AtomicBoolean(true);
        long floodEnd = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        flood = new Thread(() -> {
            try {
                for (long i = 0; !stop.get() && i < 5_000_000 && System.nanoTime() < floodEnd; i++) {
                    int k = (int) (i % FLOODED);
                    noisy.sink.upsert(spec("f" + k, "f" + k, null, Map.of("app", "f" + k, "gen", "g" + (i / FLOODED) % 5),
                            "veth-f" + k, "10.198." + (k / 250) + "." + (k % 250 + 1)));
                    reports.incrementAndGet();
                }
            } finally {
                flooding.set(false);
            }
        }, "flood");
        flood.start();
        await("the flood under way", () -> reports.get() > 10_000);

        // meanwhile another source comes with one endpoint: realized during the flood, within seconds
        long quietFrom = System.nanoTime();
        long reportsBefore = reports.get();
        manager.addSource(new Fakes.Source("netns",
                spec("quiet", "quiet", null, Map.of("app", "quiet"), "veth-quiet", "10.199.0.9")));
        await("the quiet source's endpoint ready", Duration.ofSeconds(10), () -> manager.get("quiet")
                .map(e -> e.state() == EndpointState.READY).orElse(false));
        assertTrue(flooding.get(), "the quiet endpoint was realized while the flood went on");
        System.out.printf("flood: the quiet endpoint was ready %d ms after its source came, %d flood reports meanwhile%n",
                (System.nanoTime() - quietFrom) / 1_000_000, reports.get() - reportsBefore);

        stop.set(true);
        flood.join(10_000);
        long sent = reports.get();
        // the last report of each flooded endpoint wins, and each is realized with it
        long lastRound = (sent - 1) / FLOODED;
        for (int k = 0; k < FLOODED; k++) {
            long lastIndex = lastRound * FLOODED + k < sent ? lastRound * FLOODED + k : (lastRound - 1) * FLOODED + k;
            String wantGen = "g" + (lastIndex / FLOODED) % 5;
            String name = "f" + k;
            await(name + " settles on its last report", Duration.ofSeconds(10), () -> manager.get(name)
                    .map(e -> e.state() == EndpointState.READY && e.labels().contains("docker:gen=" + wantGen))
                    .orElse(false));
            Endpoint e = manager.get(name).orElseThrow();
            assertEquals(e.identity(), datapath.endpoints.get(e.id()).identity(), name + ": the datapath has its identity");
        }
        long upserts = datapath.calls.stream().filter(c -> c.startsWith("upsert ")).count();
        System.out.printf("flood: %d reports from the flooding source, %d endpoint updates pushed%n", sent, upserts);
        assertTrue(upserts < sent / 10, sent + " reports coalesced into " + upserts + " datapath updates");
    }
}
