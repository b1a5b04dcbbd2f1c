package io.septum.observer.internal;

import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A benchmark, not a test (it judges nothing and runs only on request): queries over a flow log of
 * {@code septum.bench.flowLog.mib} MiB (300 by default) in 8 MiB segments, flows spread over the last 6 hours, from 50
 * clients in turn (client-99 alone in the oldest twentieth: an endpoint only old segments hold). Each
 * query runs three ways: as the code before the index did ({@code old}: every segment read whole into a list, then
 * filtered), with the index ignored ({@code no index}: every segment streamed), and with the index. Prints wall
 * time, the segments read, the peak heap during the query and the heap after a GC with the answer still held.
 * {@code mvn -B -o -pl bundles/observer -am verify -Dtest=FlowLogBenchmark -Dseptum.bench.flowLog=true
 * -Dsurefire.failIfNoSpecifiedTests=false -DargLine=-Xmx256m}
 */
@EnabledIfSystemProperty(named = "septum.bench.flowLog", matches = "true")
class FlowLogBenchmark {
    private static final long MIN = 60_000_000_000L;

    @TempDir
    Path dir;

    /** Flow {@code n}: from one of 50 clients in turn, or, for the oldest twentieth, from client 99 alone. */
    private static Flow flow(long n, long time, boolean old) {
        int src = old ? 99 : (int) (n % 50);
        return new Flow(null, time, n % 3 == 0 ? Flow.DROPPED : Flow.FORWARDED, n % 3 == 0 ? 133 : 0, null,
                new FlowIp("10.199.1." + src, "10.199.2." + (n % 7), "IPv4"),
                new FlowL4("TCP", 30000 + (int) (n % 30000), 80, List.of("SYN")),
                new FlowEndpoint(100 + src, 300 + src, "default", "client-" + src,
                        List.of("k8s:io.kubernetes.pod.namespace=default", "netns:app=client", "netns:class=c" + src)),
                new FlowEndpoint(7, 256, "default", "server",
                        List.of("k8s:io.kubernetes.pod.namespace=default", "netns:app=server", "netns:org=empire")),
                "L3_L4", n % 3 == 0 ? Flow.TYPE_DROP : Flow.TYPE_POLICY_VERDICT, "INGRESS", Flow.TO_ENDPOINT,
                n % 3 == 0 ? Flow.MATCH_NONE : Flow.MATCH_L3_L4, 7, n % 3 == 0 ? 0 : 1204446311,
                n % 3 == 0 ? null : "default/rule1", n % 3 == 0 ? "default deny: no rule allows" : "default/rule1 ingress[0]",
                false, null, "node-a");
    }

    @Test
    void measure() throws Exception {
        long mib = Long.getLong("septum.bench.flowLog.mib", 300);
        long now = System.currentTimeMillis() * 1_000_000L;
        long span = 360 * MIN;
        FlowLog log = new FlowLog(dir, (mib + 64) << 20, 8L << 20);
        long t0 = System.nanoTime();
        long perFlow = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(flow(1, now, false)).length + 1;
        long flows = (mib << 20) / perFlow;
        for (long i = 0; i < flows; i++) log.append(flow(i, now - span + span * i / flows, i < flows / 20));
        log.flush();
        long segments;
        try (Stream<Path> s = Files.list(dir)) {
            segments = s.filter(p -> p.toString().endsWith(".jsonl")).count();
        }
        System.out.printf("flow log: %d flows, %d MiB in %d segments, written in %.1f s; max heap %d MiB; load average %s%n",
                flows, log.totalBytes() >> 20, segments, (System.nanoTime() - t0) / 1e9,
                Runtime.getRuntime().maxMemory() >> 20, Files.readString(Path.of("/proc/loadavg")).strip());

        int cap = Observer.LOG_QUERY_MAX_FLOWS;
        FlowFilter since5m = FlowFilter.builder().since(now - 5 * MIN).build();
        FlowFilter since1d = FlowFilter.builder().since(now - 1440 * MIN).build();
        FlowFilter endpoint = FlowFilter.builder().since(now - 1440 * MIN).fromEndpoint("client-7").build();
        FlowFilter oldEndpoint = FlowFilter.builder().since(now - 1440 * MIN).fromEndpoint("client-99").build();
        for (int round = 0; round < 2; round++) {
            System.out.println("round " + round + (round == 0 ? " (JIT warming up)" : ""));
            run(log, "--since 5m", since5m, cap, true);
            run(log, "--since 1d --last 5", since1d, 5, true);
            run(log, "--since 1d --from-endpoint client-7 --last 100", endpoint, 100, true);
            run(log, "--since 1d --from-endpoint client-99 --last 100", oldEndpoint, 100, true);
            // the old code held every match of a query for every flow: 256 MiB of heap cannot, so it is left out
            run(log, "--since 1d (every flow: the newest " + cap + ")", since1d, cap, false);
        }
        log.close();
    }

    private void run(FlowLog log, String what, FlowFilter filter, int last, boolean old) throws Exception {
        if (old) measure(log, what, "old", () -> oldQuery(log, filter, last));
        log.useIndex(false);
        measure(log, what, "no index", () -> log.query(filter, last));
        log.useIndex(true);
        measure(log, what, "index", () -> log.query(filter, last));
    }

    /** What FlowLog.query did before the index: each segment read whole into a list, oldest first. */
    private List<Flow> oldQuery(FlowLog log, FlowFilter filter, int last) throws Exception {
        ArrayDeque<Flow> out = new ArrayDeque<>();
        List<Path> segs;
        try (Stream<Path> s = Files.list(dir)) {
            segs = s.filter(p -> p.toString().endsWith(".jsonl")).sorted().toList();
        }
        for (Path seg : segs) {
            List<Flow> all;
            try (InputStream in = Files.newInputStream(seg)) {
                all = log.read(in);
            }
            for (Flow f : all) {
                if (!filter.matches(f)) continue;
                out.addLast(f);
                if (last > 0 && out.size() > last) out.removeFirst();
            }
        }
        return List.copyOf(out);
    }

    private static void measure(FlowLog log, String what, String how, Callable<List<Flow>> query) throws Exception {
        System.gc();
        List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP).toList();
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        long before = used();
        long read = log.segmentsRead();
        long t0 = System.nanoTime();
        List<Flow> got = query.call();
        long wall = System.nanoTime() - t0;
        long peak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
        System.gc();
        long held = used() - before;
        System.out.printf("  %-52s %-8s %8.1f ms  %6d flows  %4s segments  peak heap %4d MiB  held after GC %5.1f MiB%n",
                what, how, wall / 1e6, got.size(), how.equals("old") ? "all" : Long.toString(log.segmentsRead() - read),
                peak >> 20, held / 1048576.0);
    }

    private static long used() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
