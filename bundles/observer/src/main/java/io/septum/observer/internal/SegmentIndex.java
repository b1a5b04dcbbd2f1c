package io.septum.observer.internal;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowFilter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32;

/**
 * What one segment of the flow log holds, in brief: its size when indexed, how many flows, the earliest and latest
 * flow time, and the endpoints seen on each side. A query reads a segment only when its index says it can match;
 * an index that is missing, torn, or written for another size of its segment is no index (the segment is read in
 * full), so a crash can cost time but never a flow.
 *
 * <p>Kept beside the segment as {@code flows-NNNNNNNNNNNN.idx}: one JSON line, then the CRC-32 of that line.
 *
 * @param bytes        the segment's size the index describes
 * @param flows        flows in the segment (lines that read as a flow)
 * @param minNanos     the earliest flow time ({@code Long.MAX_VALUE} when no flow)
 * @param maxNanos     the latest flow time ({@code Long.MIN_VALUE} when no flow)
 * @param sources      the source endpoints seen, or null when there were more than {@link #MAX_ENDPOINTS}
 * @param destinations the destination endpoints seen, likewise
 */
record SegmentIndex(@JsonProperty("bytes") long bytes, @JsonProperty("flows") long flows,
                    @JsonProperty("minNanos") long minNanos, @JsonProperty("maxNanos") long maxNanos,
                    @JsonProperty("sources") Set<EndpointKey> sources,
                    @JsonProperty("destinations") Set<EndpointKey> destinations) {
    /** Past this many distinct endpoints on one side the index stops listing them (and queries stop pruning by them). */
    static final int MAX_ENDPOINTS = 512;
    private static final String SUFFIX = ".idx";
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** An endpoint as a flow names it: what {@link FlowFilter}'s endpoint conditions compare. */
    record EndpointKey(@JsonProperty("id") long id, @JsonProperty("namespace") String namespace,
                       @JsonProperty("name") String name) {
        static EndpointKey of(FlowEndpoint e) {
            return new EndpointKey(e.id(), e.namespace(), e.name());
        }

        FlowEndpoint endpoint() {
            return new FlowEndpoint(id, 0, namespace, name, List.of());
        }
    }

    /** The index file of a segment file. */
    static Path pathOf(Path segment) {
        String name = segment.getFileName().toString();
        return segment.resolveSibling(name.substring(0, name.lastIndexOf('.')) + SUFFIX);
    }

    static boolean isIndexFile(Path p) {
        return p.getFileName().toString().endsWith(SUFFIX);
    }

    /**
     * Whether a flow of this segment can match {@code filter}: false only when the times or the endpoints rule
     * every flow out. Endpoints are judged by the filter itself (on stand-in flows), so the index means what the
     * filter means.
     */
    boolean mayMatch(FlowFilter filter) {
        if (flows == 0) return false;
        if (filter.since() != null && maxNanos < filter.since()) return false;
        if (filter.until() != null && minNanos > filter.until()) return false;
        return side(filter.fromEndpoint(), sources, true) && side(filter.toEndpoint(), destinations, false);
    }

    private static boolean side(String want, Set<EndpointKey> seen, boolean source) {
        if (want == null || want.isBlank() || seen == null) return true;
        FlowFilter only = source ? FlowFilter.builder().fromEndpoint(want).build() : FlowFilter.builder().toEndpoint(want).build();
        for (EndpointKey k : seen) {
            FlowEndpoint e = k.endpoint();
            Flow probe = new Flow(null, 0, Flow.FORWARDED, 0, null, null, null, source ? e : null, source ? null : e,
                    null, null, null, null, null, 0, 0, null, null, false, null);
            try {
                if (only.matches(probe)) return true;
            } catch (RuntimeException e2) {
                return true; // a filter the index cannot judge: read the segment
            }
        }
        return false;
    }

    /**
     * The index of {@code segment} when its file is intact and describes the segment as it is now ({@code bytes}
     * long); null otherwise.
     */
    static SegmentIndex read(Path segment, long bytes) {
        try {
            String text = Files.readString(pathOf(segment), StandardCharsets.UTF_8);
            int nl = text.indexOf('\n');
            if (nl < 0) return null;
            String json = text.substring(0, nl);
            if (!Long.toHexString(crc(json)).equals(text.substring(nl + 1).strip())) return null;
            SegmentIndex idx = MAPPER.readValue(json, SegmentIndex.class);
            return idx != null && idx.bytes == bytes ? idx : null;
        } catch (IOException | RuntimeException e) {
            return null; // missing, torn or foreign: the segment is read in full
        }
    }

    /** Writes the index beside {@code segment}, whole or not at all (a temp file moved into place). */
    void write(Path segment) throws IOException {
        String json = MAPPER.writeValueAsString(this);
        Path target = pathOf(segment);
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.writeString(tmp, json + "\n" + Long.toHexString(crc(json)) + "\n", StandardCharsets.UTF_8);
        try {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static long crc(String s) {
        CRC32 c = new CRC32();
        c.update(s.getBytes(StandardCharsets.UTF_8));
        return c.getValue();
    }

    /** Gathers a segment's index flow by flow, as the segment is written or read. Not thread-safe. */
    static final class Builder {
        private long flows;
        private long min = Long.MAX_VALUE;
        private long max = Long.MIN_VALUE;
        private Set<EndpointKey> sources = new LinkedHashSet<>();
        private Set<EndpointKey> destinations = new LinkedHashSet<>();

        void add(Flow f) {
            flows++;
            min = Math.min(min, f.timeNanos());
            max = Math.max(max, f.timeNanos());
            sources = note(sources, f.source());
            destinations = note(destinations, f.destination());
        }

        private static Set<EndpointKey> note(Set<EndpointKey> seen, FlowEndpoint e) {
            if (seen == null || e == null) return seen;
            seen.add(EndpointKey.of(e));
            return seen.size() > MAX_ENDPOINTS ? null : seen;
        }

        /** The index of the first {@code bytes} bytes of the segment: the flows added so far. */
        SegmentIndex build(long bytes) {
            return new SegmentIndex(bytes, flows, min, max, sources == null ? null : Set.copyOf(sources),
                    destinations == null ? null : Set.copyOf(destinations));
        }
    }
}
