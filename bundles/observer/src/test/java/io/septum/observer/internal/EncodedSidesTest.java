package io.septum.observer.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The flow log writes a flow's sides from their cached JSON: the lines must be Jackson's own, byte for byte. */
class EncodedSidesTest {
    @TempDir
    Path dir;

    /** Labels that need escaping, non-ASCII text, empty and missing fields; each side in fresh copies too. */
    private static List<FlowEndpoint> sides() {
        return List.of(
                new FlowEndpoint(7, 12345, "default", "deathstar-1", List.of("k8s:app=deathstar", "k8s:org=empire",
                        "k8s:io.kubernetes.pod.namespace=default")),
                new FlowEndpoint(0, 2, null, null, List.of("reserved:world")),
                new FlowEndpoint(0, 16777217, null, null, List.of("cidr:10.0.0.0/8", "reserved:world")),
                new FlowEndpoint(9, 300, "café", "naïve-🚀", List.of("k8s:note=\"quoted\" and \\ back", "k8s:ctl=\u0001\t\n")),
                new FlowEndpoint(10, 301, "ns", "lone-surrogate", List.of("k8s:broken=\uD800", "k8s:low=\uDC00x")),
                new FlowEndpoint(3, 0, "", "", List.of()),
                new FlowEndpoint(3, 0, "", "", null),
                // equal to the first but for one label: must not be written as the first
                new FlowEndpoint(7, 12345, "default", "deathstar-1", List.of("k8s:app=deathstar", "k8s:org=alliance",
                        "k8s:io.kubernetes.pod.namespace=default")));
    }

    private static Flow flow(long n, FlowEndpoint src, FlowEndpoint dst) {
        return new Flow(null, n, n % 2 == 0 ? Flow.DROPPED : Flow.FORWARDED, n % 2 == 0 ? 133 : 0, null,
                new FlowIp("10.0.0." + (n % 250), "10.0.1.1", "IPv4"), new FlowL4("UDP", 40000 + (int) (n % 64), 53, List.of()),
                src, dst, "L3_L4", Flow.TYPE_DROP, "INGRESS", Flow.TO_ENDPOINT, Flow.MATCH_NONE, 7, 0, null,
                "default deny: no rule allows", false, null, "node-1");
    }

    @Test
    void theLogsLinesAreJacksonsOwnByteForByte() throws IOException {
        FlowLog log = new FlowLog(dir, 1L << 30, 1L << 26);
        ObjectMapper plain = FlowLog.logMapper();
        List<FlowEndpoint> sides = sides();
        Random r = new Random(42);
        List<String> expected = new ArrayList<>();
        for (int n = 0; n < 3000; n++) {
            FlowEndpoint a = sides.get(r.nextInt(sides.size()));
            FlowEndpoint b = sides.get(r.nextInt(sides.size()));
            if (r.nextBoolean()) { // an equal side in new objects, as the enricher makes them
                a = new FlowEndpoint(a.id(), a.identity(), a.namespace() == null ? null : new String(a.namespace()),
                        a.name(), new ArrayList<>(a.labels()));
            }
            Flow f = flow(n, a, r.nextInt(10) == 0 ? null : b);
            expected.add(new String(plain.writeValueAsBytes(f), StandardCharsets.UTF_8)); // the log writes UTF-8, as this does
            log.append(f);
        }
        log.flush();
        List<String> lines = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path seg : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().toList()) {
                lines.addAll(Files.readAllLines(seg));
            }
        }
        assertEquals(expected.size(), lines.size());
        for (int i = 0; i < expected.size(); i++) assertEquals(expected.get(i), lines.get(i), "line " + (i + 1));
    }

    /** The log's mapper writes both sides of a flow through the cache (a registration Jackson ignored would not). */
    @Test
    void bothSidesAreWrittenThroughTheCache() throws Exception {
        var provider = FlowLog.writingMapper().getSerializerProviderInstance();
        var bean = (com.fasterxml.jackson.databind.ser.std.BeanSerializerBase) provider.findValueSerializer(Flow.class);
        java.util.Set<String> cached = new java.util.TreeSet<>();
        bean.properties().forEachRemaining(p -> {
            Object s = ((com.fasterxml.jackson.databind.ser.BeanPropertyWriter) p).getSerializer();
            if (s instanceof EncodedSides) cached.add(p.getName());
        });
        assertEquals(new java.util.TreeSet<>(List.of("source", "destination")), cached);
    }

    /**
     * More sides than it holds: the ones past the bound are written as Jackson writes them, inside a flow too, and
     * after as many of those as it holds the cache starts over with the sides of now.
     */
    @Test
    void pastItsBoundSidesAreWrittenUncachedThenTheCacheStartsOver() throws IOException {
        EncodedSides encoded = new EncodedSides(FlowLog.logMapper().writerFor(FlowEndpoint.class));
        ObjectMapper cached = FlowLog.logMapper().registerModule(new SimpleModule().addSerializer(FlowEndpoint.class, encoded));
        ObjectMapper plain = FlowLog.logMapper();
        FlowEndpoint dst = sides().get(0);
        for (int i = 0; i < 2 * EncodedSides.MAX_SIDES + 100; i++) {
            FlowEndpoint side = new FlowEndpoint(0, 16777216 + i, null, null, List.of("cidr:10." + i / 65536 + "." + i / 256 % 256
                    + "." + i % 256 + "/32"));
            Flow f = flow(i, side, dst);
            assertEquals(new String(plain.writeValueAsBytes(f), StandardCharsets.UTF_8),
                    new String(cached.writeValueAsBytes(f), StandardCharsets.UTF_8), "flow " + i);
            assertTrue(encoded.size() <= EncodedSides.MAX_SIDES, "bounded: " + encoded.size());
            // full at 4,096 (the other side is one of them), uncached for 4,096 more, then started over
            if (i == EncodedSides.MAX_SIDES + 10) assertEquals(EncodedSides.MAX_SIDES, encoded.size());
        }
        assertTrue(encoded.size() < 200, "started over: " + encoded.size());
    }
}
