package io.septum.observer.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.datapath.DatapathEvent;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import io.septum.api.flow.FlowSubscription;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlowStoreTest {
    @TempDir
    Path tmp;

    static Flow flow(long n, String verdict) {
        return new Flow(null, n, verdict, Flow.DROPPED.equals(verdict) ? 133 : 0, null,
                new FlowIp("10.199.0.1", "10.199.0.2", "IPv4"), new FlowL4("TCP", 40000 + (int) (n % 1000), 80, List.of("SYN")),
                new FlowEndpoint(1, 256, "default", "a", List.of()), new FlowEndpoint(2, 257, "default", "b", List.of()),
                "L3_L4", Flow.DROPPED.equals(verdict) ? Flow.TYPE_DROP : Flow.TYPE_POLICY_VERDICT, "INGRESS",
                Flow.TO_ENDPOINT, Flow.MATCH_NONE, 2, 0, null, "why " + n, false, null);
    }

    @Test
    void theRingKeepsTheNewestAndAnswersTheLastMatching() {
        FlowRing ring = new FlowRing(5);
        for (long i = 1; i <= 12; i++) ring.add(flow(i, i % 2 == 0 ? Flow.DROPPED : Flow.FORWARDED));
        assertEquals(5, ring.size());
        assertEquals(8, ring.oldestNanos());
        assertEquals(List.of(8L, 9L, 10L, 11L, 12L), ring.query(FlowFilter.ALL, 0).stream().map(Flow::timeNanos).toList());
        assertEquals(List.of(11L, 12L), ring.query(FlowFilter.ALL, 2).stream().map(Flow::timeNanos).toList());
        assertEquals(List.of(10L, 12L), ring.query(FlowFilter.builder().verdict("DROPPED").build(), 2)
                .stream().map(Flow::timeNanos).toList());
    }

    private static long total(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.mapToLong(p -> p.toFile().length()).sum();
        }
    }

    private static long files(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void theLogRotatesKeepsItsLimitAndReloadsTheNewest() throws Exception {
        Path dir = tmp.resolve("flows");
        long max = 256 * 1024;
        try (FlowLog log = new FlowLog(dir, max, 16 * 1024)) {
            for (long i = 1; i <= 2000; i++) log.append(flow(i, Flow.FORWARDED));
            log.flush();
            assertTrue(files(dir) > 2, "several segments");
            assertTrue(total(dir) <= max, "retention keeps the total at most " + max + " but it is " + total(dir));
            assertTrue(total(dir) > max / 2, "retention removes only what it must: " + total(dir));
            assertEquals(log.totalBytes(), total(dir));
        }
        FlowLog again = new FlowLog(dir, max, 16 * 1024);
        List<Flow> tail = again.loadTail(100);
        assertEquals(100, tail.size());
        assertEquals(1901, tail.get(0).timeNanos());
        assertEquals(2000, tail.get(99).timeNanos());
        assertEquals(flow(2000, Flow.FORWARDED), tail.get(99), "a flow reads back as it was written");
        List<Flow> all = again.query(FlowFilter.ALL, 0);
        assertTrue(all.get(0).timeNanos() > 1, "the oldest were deleted");
        assertEquals(2000, all.get(all.size() - 1).timeNanos());
        // appending after a restart starts a new segment and keeps the old ones
        again.append(flow(2001, Flow.DROPPED));
        again.flush();
        assertEquals(List.of(2001L), again.query(FlowFilter.builder().verdict("DROPPED").build(), 0)
                .stream().map(Flow::timeNanos).toList());
        again.close();
    }

    @Test
    void aLineTornByACrashIsSkipped() throws Exception {
        Path dir = tmp.resolve("torn");
        try (FlowLog log = new FlowLog(dir, 1 << 20, 1 << 20)) {
            log.append(flow(1, Flow.FORWARDED));
            log.append(flow(2, Flow.FORWARDED));
        }
        Path seg;
        try (Stream<Path> s = Files.list(dir)) {
            seg = s.findFirst().orElseThrow();
        }
        Files.writeString(seg, "{\"time\":\"2026-", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        assertEquals(List.of(1L, 2L), new FlowLog(dir, 1 << 20, 1 << 20).loadTail(10).stream().map(Flow::timeNanos).toList());
    }

    static DatapathEvent event(long n) {
        return new DatapathEvent(n, "drop", 1, "INGRESS", "DROPPED", 133, "10.199.0.2", 1000, 257, "10.199.0.1", 80, 256,
                "TCP", 0, 2, false, 1);
    }

    private static Observer observer(Path logDir, int maxFlows, int queue) {
        Observer o = new Observer(new Observer.Settings(maxFlows, queue, 16, logDir, 1 << 20, 64 << 10, "node-t"));
        o.setLookup(new EnricherTest.Fake());
        o.setLostEvents(() -> 7);
        return o;
    }

    private static void await(java.util.function.BooleanSupplier cond, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    @Test
    void eventsBecomeFlowsThatFollowersSeeAndThatSurviveARestart() throws Exception {
        Path dir = tmp.resolve("obs");
        Observer o = observer(dir, 100, 1000);
        o.start();
        try (FlowSubscription sub = o.follow(FlowFilter.builder().port(80).build())) {
            for (long i = 1; i <= 150; i++) o.onEvent(event(i));
            await(() -> o.stats().seenFlows() == 150, "150 flows");
            Flow first = sub.poll(5, TimeUnit.SECONDS);
            assertNotNull(first);
            assertEquals(1, first.timeNanos());
            assertEquals("default/deathstar-1", first.destination().qualifiedName());
            assertEquals("node-t", first.nodeName(), "every flow carries the name of the node that observed it");
            assertEquals(16, 16 + 0, "queue size");
            assertTrue(sub.dropped() > 0, "a follower that does not read loses flows, counted");
        }
        assertEquals(0, o.followers());
        assertEquals(100, o.stats().currentFlows());
        assertEquals(7, o.stats().lostEvents());
        assertTrue(o.stats().diskBytes() > 0);
        o.close();

        Observer again = observer(dir, 100, 1000);
        again.start();
        assertTrue(again.awaitLoaded(5_000));
        List<Flow> reloaded = again.query(FlowFilter.ALL, 0);
        assertEquals(100, reloaded.size(), "the ring is refilled from the log");
        assertEquals(150, reloaded.get(99).timeNanos());
        assertEquals("node-t", reloaded.get(99).nodeName(), "the node's name is kept in the log");
        // the disk holds what the ring forgot: since before the ring's oldest reads the log
        List<Flow> older = again.query(FlowFilter.builder().since(1L).build(), 0);
        assertEquals(150, older.size());
        assertEquals(1, older.get(0).timeNanos());
        again.close();
    }

    @Test
    void aQueryOverTheLogForEveryFlowAnswersTheNewestUpToTheCap() throws Exception {
        Path dir = tmp.resolve("cap");
        Observer o = new Observer(new Observer.Settings(10, 1000, 16, dir, 1 << 20, 16 << 10, "node-t", 30));
        o.setLookup(new EnricherTest.Fake());
        o.start();
        for (long i = 1; i <= 200; i++) o.onEvent(event(i));
        await(() -> o.stats().seenFlows() == 200, "200 flows");
        List<Long> every = o.query(FlowFilter.builder().since(1L).build(), 0).stream().map(Flow::timeNanos).toList();
        assertEquals(30, every.size(), "at most logQueryMaxFlows");
        assertEquals(171, every.get(0), "the newest, oldest first");
        assertEquals(200, every.get(29));
        assertEquals(50, o.query(FlowFilter.builder().since(1L).build(), 50).size(), "an explicit last is answered in full");
        o.close();
    }

    @Test
    void aFullQueueDropsAndCountsWithoutBlockingTheDatapathThread() {
        Observer o = observer(null, 10, 16); // not started: nothing drains the queue
        long t0 = System.nanoTime();
        for (long i = 0; i < 1000; i++) o.onEvent(event(i));
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1));
        assertEquals(1000 - 16, o.stats().queueDropped());
        assertEquals(0, o.stats().diskMaxBytes());
        assertFalse(o.stats().flowsPerSecond() > 0);
        o.close();
    }

    @Test
    void l7FlowsFromTheProxyAreStoredAsTheyCome() throws Exception {
        Observer o = observer(null, 100, 100);
        o.start();
        try (FlowSubscription sub = o.follow(FlowFilter.ALL)) {
            Flow l7 = new Flow(null, 42, Flow.DROPPED, 0, null, new io.septum.api.flow.FlowIp("10.199.0.2", "10.199.0.1", "IPv4"),
                    new io.septum.api.flow.FlowL4("TCP", 1000, 80, List.of()), null, null, "L7", Flow.TYPE_L7, "INGRESS",
                    Flow.TO_PROXY, Flow.MATCH_L7, 1, 0, null, "no HTTP rule matches", true,
                    new io.septum.api.flow.FlowL7("RESPONSE", 1000, new io.septum.api.flow.FlowHttp(403, "PUT",
                            "http://deathstar/v1/exhaust-port", "HTTP/1.1")));
            o.accept(l7);
            Flow got = sub.poll(5, TimeUnit.SECONDS);
            assertEquals(l7.withNodeName("node-t"), got, "stored unchanged but for the node's name, not enriched");
            assertEquals(List.of(l7.withNodeName("node-t")), o.query(FlowFilter.builder().verdict("DROPPED").build(), 0));
        }
        o.close();
    }
}
