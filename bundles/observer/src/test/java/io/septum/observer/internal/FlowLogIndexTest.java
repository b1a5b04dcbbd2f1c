package io.septum.observer.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The flow log's per-segment index: which segments a query reads, and that a missing or bad index costs no flow. */
class FlowLogIndexTest {
    private static final long SEGMENT = 16 * 1024;

    @TempDir
    Path tmp;

    /** Flow {@code n} at time {@code n}, from endpoint {@code 100 + n / 500} (so each source fills a few segments). */
    static Flow flow(long n) {
        long src = 100 + n / 500;
        return new Flow(null, n, Flow.FORWARDED, 0, null, new FlowIp("10.199.0.1", "10.199.0.2", "IPv4"),
                new FlowL4("TCP", 40000, 80, List.of("SYN")),
                new FlowEndpoint(src, 256, "default", "src-" + src, List.of("k8s:app=a")),
                new FlowEndpoint(2, 257, "default", "b", List.of()), "L3_L4", Flow.TYPE_POLICY_VERDICT, "INGRESS",
                Flow.TO_ENDPOINT, Flow.MATCH_NONE, 2, 0, null, "why " + n, false, null);
    }

    private FlowLog log(Path dir, long flows) {
        FlowLog log = new FlowLog(dir, 64L << 20, SEGMENT);
        for (long i = 1; i <= flows; i++) log.append(flow(i));
        log.flush();
        return log;
    }

    private static List<Path> segments(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList();
        }
    }

    private static List<Long> times(List<Flow> flows) {
        return flows.stream().map(Flow::timeNanos).toList();
    }

    private static List<Long> range(long from, long to) {
        List<Long> out = new ArrayList<>();
        for (long i = from; i <= to; i++) out.add(i);
        return out;
    }

    @Test
    void eachClosedSegmentIsIndexedAndATimeQueryReadsOnlyTheSegmentsThatCanMatch() throws Exception {
        Path dir = tmp.resolve("flows");
        try (FlowLog log = log(dir, 3000)) {
            List<Path> segs = segments(dir);
            assertTrue(segs.size() > 10, "several segments: " + segs.size());
            long previousMax = 0;
            for (Path seg : segs.subList(0, segs.size() - 1)) {
                SegmentIndex idx = SegmentIndex.read(seg, Files.size(seg));
                assertNotNull(idx, "a closed segment has an index: " + seg);
                assertEquals(previousMax + 1, idx.minNanos(), "the segments follow each other");
                assertTrue(idx.maxNanos() >= idx.minNanos());
                assertEquals(idx.maxNanos() - idx.minNanos() + 1, idx.flows());
                previousMax = idx.maxNanos();
            }
            assertNull(SegmentIndex.read(segs.get(segs.size() - 1), Files.size(segs.get(segs.size() - 1))),
                    "the segment being written has no index file yet");

            long before = log.segmentsRead();
            assertEquals(range(2990, 3000), times(log.query(FlowFilter.builder().since(2990L).build(), 0)));
            assertTrue(log.segmentsRead() - before <= 2, "read " + (log.segmentsRead() - before) + " segments");

            before = log.segmentsRead();
            assertEquals(range(1000, 1010), times(log.query(FlowFilter.builder().since(1000L).until(1010L).build(), 0)));
            assertTrue(log.segmentsRead() - before <= 2, "read " + (log.segmentsRead() - before) + " segments");

            before = log.segmentsRead();
            assertEquals(range(2996, 3000), times(log.query(FlowFilter.ALL, 5)), "the last 5 come from the newest segment");
            assertTrue(log.segmentsRead() - before <= 2, "read " + (log.segmentsRead() - before) + " segments");
        }
    }

    @Test
    void aWindowThatMatchesNoSegmentReadsNone() throws Exception {
        try (FlowLog log = log(tmp.resolve("flows"), 2000)) {
            long before = log.segmentsRead();
            assertEquals(List.of(), log.query(FlowFilter.builder().since(5000L).build(), 0), "after every flow");
            assertEquals(List.of(), log.query(FlowFilter.builder().until(0L).build(), 0), "before every flow");
            assertEquals(before, log.segmentsRead(), "neither query opened a segment, the one being written included");
        }
    }

    @Test
    void anEndpointQueryReadsOnlyTheSegmentsWhereTheEndpointWasSeen() throws Exception {
        try (FlowLog log = log(tmp.resolve("flows"), 3000)) {
            for (String ep : List.of("103", "default/src-103", "src-103")) {
                long before = log.segmentsRead();
                List<Flow> got = log.query(FlowFilter.builder().fromEndpoint(ep).build(), 0);
                assertEquals(range(1500, 1999), times(got), ep);
                long read = log.segmentsRead() - before;
                assertTrue(read > 0 && read <= segments(tmp.resolve("flows")).size() / 2, ep + ": read " + read + " segments");
            }
            long before = log.segmentsRead();
            assertEquals(List.of(), log.query(FlowFilter.builder().toEndpoint("103").build(), 0), "103 is never a destination");
            assertEquals(before, log.segmentsRead());
        }
    }

    @Test
    void aMissingOrCorruptIndexIsRebuiltFromItsSegmentAndCostsNoFlow() throws Exception {
        Path dir = tmp.resolve("flows");
        try (FlowLog log = log(dir, 2000)) {
            List<Path> segs = segments(dir);
            Path missing = segs.get(1);
            Path garbage = segs.get(2);
            Path badCrc = segs.get(3);
            Files.delete(SegmentIndex.pathOf(missing));
            Files.write(SegmentIndex.pathOf(garbage), new byte[]{0, 1, 2, '\n', '{'});
            // an index that parses but whose check sum does not match: it says the segment holds nothing useful
            String text = Files.readString(SegmentIndex.pathOf(badCrc));
            Files.writeString(SegmentIndex.pathOf(badCrc), text.replaceFirst("\"maxNanos\":\\d+", "\"maxNanos\":1"));

            assertEquals(range(1, 2000), times(log.query(FlowFilter.builder().since(1L).build(), 0)));
            for (Path seg : List.of(missing, garbage, badCrc)) {
                assertNotNull(SegmentIndex.read(seg, Files.size(seg)), "rebuilt while it was read: " + seg);
            }
        }
    }

    @Test
    void anIndexWrittenForAnotherSizeOfItsSegmentIsIgnored() throws Exception {
        Path dir = tmp.resolve("flows");
        try (FlowLog log = log(dir, 2000)) {
            Path seg = segments(dir).get(0);
            // a flow from far outside the segment's indexed window, as if appended after the index was written
            Files.writeString(seg, new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(flow(9_999)) + "\n",
                    StandardCharsets.UTF_8, StandardOpenOption.APPEND);
            assertEquals(List.of(9_999L), times(log.query(FlowFilter.builder().since(9_000L).build(), 0)));
        }
    }

    @Test
    void aCrashedSegmentWithoutIndexIsReadAndOrphanIndexesGo() throws Exception {
        Path dir = tmp.resolve("flows");
        FlowLog crashed = log(dir, 500); // never closed: its last segment has no index, like after kill -9
        Path last = segments(dir).get(segments(dir).size() - 1);
        assertFalse(Files.exists(SegmentIndex.pathOf(last)));
        Path orphan = dir.resolve("flows-000000999999.idx");
        Files.writeString(orphan, "left behind\n");

        try (FlowLog again = new FlowLog(dir, 64L << 20, SEGMENT)) {
            again.append(flow(501));
            assertFalse(Files.exists(orphan), "opening the log for writing drops an index without a segment");
            assertEquals(range(496, 501), times(again.query(FlowFilter.builder().since(496L).build(), 0)));
            assertTrue(Files.exists(SegmentIndex.pathOf(last)), "indexed once read");
            assertEquals(again.totalBytes(), total(dir), "the rebuilt index counts toward the log's size");
        }
        crashed.close();
    }

    @Test
    void retentionDeletesAnIndexWithItsSegment() throws Exception {
        Path dir = tmp.resolve("flows");
        try (FlowLog log = new FlowLog(dir, 128 * 1024, SEGMENT)) {
            for (long i = 1; i <= 3000; i++) log.append(flow(i));
            log.flush();
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.filter(SegmentIndex::isIndexFile).toList()) {
                    String seg = p.getFileName().toString().replace(".idx", ".jsonl");
                    assertTrue(Files.exists(dir.resolve(seg)), "no index outlives its segment: " + p);
                }
            }
            assertEquals(log.totalBytes(), total(dir));
            assertTrue(total(dir) <= 128 * 1024);
        }
    }

    @Test
    void theSegmentBeingWrittenIsQueriedUpToWhereItWasFlushedWhileTheWriterGoesOn() throws Exception {
        Path dir = tmp.resolve("flows");
        FlowLog log = log(dir, 1000);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch written = new CountDownLatch(1);
        Thread writer = new Thread(() -> {
            for (long i = 1001; !stop.get(); i++) {
                log.append(flow(i));
                if (i % 7 == 0) log.flush();
                if (i == 1106) started.countDown(); // flushed past the newest 'since' asked below: never an empty answer
                if (i == 3000) written.countDown();
            }
        });
        writer.start();
        try {
            assertTrue(started.await(30, java.util.concurrent.TimeUnit.SECONDS), "the writer did not start");
            Random random = new Random(7);
            long newest = 0;
            while (written.getCount() > 0 || newest < 3000) {
                long since = 900 + random.nextInt(200);
                List<Long> got = times(log.query(FlowFilter.builder().since(since).build(), 0));
                // whatever the writer did meanwhile: no gap, no duplicate, nothing torn, never less than before
                assertEquals(range(since, got.get(got.size() - 1)), got);
                assertTrue(got.get(got.size() - 1) >= newest);
                newest = got.get(got.size() - 1);
                List<Long> last = times(log.query(FlowFilter.ALL, 3));
                assertEquals(range(last.get(0), last.get(0) + 2), last);
            }
        } catch (Throwable t) {
            failed.set(t);
        } finally {
            stop.set(true);
            writer.join();
            log.close();
        }
        if (failed.get() != null) throw new AssertionError(failed.get());
    }

    @Test
    void indexedAndUnindexedQueriesAnswerTheSame() throws Exception {
        try (FlowLog log = log(tmp.resolve("flows"), 3000)) {
            Random random = new Random(11);
            for (int i = 0; i < 25; i++) {
                FlowFilter.Builder b = FlowFilter.builder();
                if (random.nextBoolean()) b.since((long) random.nextInt(3200));
                if (random.nextBoolean()) b.until((long) random.nextInt(3200));
                if (random.nextInt(3) == 0) b.fromEndpoint(Integer.toString(100 + random.nextInt(8)));
                if (random.nextInt(4) == 0) b.toEndpoint(random.nextBoolean() ? "b" : "default/a");
                FlowFilter filter = b.build();
                int last = random.nextInt(3) == 0 ? 0 : 1 + random.nextInt(700);
                log.useIndex(true);
                List<Flow> indexed = log.query(filter, last);
                log.useIndex(false);
                List<Flow> full = log.query(filter, last);
                assertEquals(times(full), times(indexed), filter + " last " + last);
                assertEquals(full, indexed);
            }
        }
    }

    @Test
    void pastTheirLimitTheEndpointsAreNoLongerListedNorUsedToRuleASegmentOut() {
        SegmentIndex.Builder b = new SegmentIndex.Builder();
        for (long i = 0; i < SegmentIndex.MAX_ENDPOINTS; i++) b.add(flow(i * 500));
        SegmentIndex listed = b.build(1);
        assertEquals(SegmentIndex.MAX_ENDPOINTS, listed.sources().size());
        assertFalse(listed.mayMatch(FlowFilter.builder().fromEndpoint("99").build()));
        assertTrue(listed.mayMatch(FlowFilter.builder().fromEndpoint("default/src-100").build()));
        b.add(flow(SegmentIndex.MAX_ENDPOINTS * 500L));
        SegmentIndex many = b.build(1);
        assertNull(many.sources(), "too many to list");
        assertTrue(many.mayMatch(FlowFilter.builder().fromEndpoint("99").build()), "then any source may be there");
        assertFalse(many.mayMatch(FlowFilter.builder().toEndpoint("99").build()), "the destinations are still listed");
        assertFalse(new SegmentIndex.Builder().build(0).mayMatch(FlowFilter.ALL), "an empty segment matches nothing");
    }

    @Test
    void onlyLinesOutsideTheWindowAsThisLogWritesThemAreSkippedUnparsed() {
        FlowFilter since = FlowFilter.builder().since(100L).build();
        assertTrue(FlowLog.outside(since, "{\"time\":\"1970-01-01T00:00:00.000000099Z\",\"time_nanos\":99,\"verdict\":\"X\"}"));
        assertFalse(FlowLog.outside(since, "{\"time\":\"1970-01-01T00:00:00.000000100Z\",\"time_nanos\":100,\"verdict\":\"X\"}"));
        assertFalse(FlowLog.outside(since, "{\"time_nanos\":99,\"time\":\"x\"}"), "another order is parsed");
        assertFalse(FlowLog.outside(since, "{\"time\":\"x\",\"time_nanos\":99"), "a torn line is parsed (and skipped then)");
        assertFalse(FlowLog.outside(since, "{\"time\":\"x\",\"time_nanos\":-5,"), "a negative time is parsed");
        assertFalse(FlowLog.outside(since, "{\"time\":\"x\",\"time_nanos\":9999999999999999999,"), "past a long: parsed");
        assertTrue(FlowLog.outside(FlowFilter.builder().since(1795755278278340550L).build(),
                "{\"time\":\"2026-11-27T04:54:38.278340549Z\",\"time_nanos\":1795755278278340549,\"verdict\":\"X\"}"));
        assertFalse(FlowLog.outside(FlowFilter.ALL, "{\"time\":\"x\",\"time_nanos\":99,"));
        assertTrue(FlowLog.outside(FlowFilter.builder().until(98L).build(), "{\"time\":\"x\",\"time_nanos\":99,"));
    }

    private static long total(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
