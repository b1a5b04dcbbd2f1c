package io.septum.observer.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowFilter;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The on-disk flow log: JSON lines in numbered segment files {@code flows-NNNNNNNNNNNN.jsonl}. A segment is
 * closed once it reaches {@code segmentBytes}; the oldest segments are deleted while the total exceeds
 * {@code maxBytes}. A line cut short by a crash is skipped on reading. Each closed segment gets a
 * {@link SegmentIndex} beside it (its index files count toward {@code maxBytes}), so that a query reads only the
 * segments that can match. Writing is for the observer's thread alone; queries run on their callers' threads and
 * take the lock only to see where the log stands.
 */
final class FlowLog implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(FlowLog.class.getName());
    private static final Pattern SEGMENT = Pattern.compile("flows-(\\d{12})\\.jsonl");
    /** How this log's lines begin: the time, then its nanoseconds (what a query can check without parsing). */
    private static final String TIME_PREFIX = "{\"time\":\"";
    private static final String NANOS_KEY = "\",\"time_nanos\":";

    private final Path dir;
    private final long maxBytes;
    private final long segmentBytes;
    private final ObjectMapper mapper = writingMapper();
    private final ObjectReader reader = mapper.readerFor(Flow.class);
    private final ObjectWriter writer = mapper.writerFor(Flow.class);
    /** The flows of the segment being written, for its index. */
    private SegmentIndex.Builder currentIndex = new SegmentIndex.Builder();
    /** Off only to measure what the index saves (the benchmark): every segment is then read. */
    private volatile boolean useIndex = true;
    /** Segments queries have opened: what the index saves shows here (tests, benchmark). */
    private final java.util.concurrent.atomic.LongAdder segmentsRead = new java.util.concurrent.atomic.LongAdder();
    private CountingOutputStream out;
    /**
     * Writes the flows of the segment being written into {@link #out}: one for the segment rather than one for
     * each flow, whose set-up and copy of its bytes were half of what the flow path allocated.
     */
    private JsonGenerator json;
    private long seq;
    private long currentBytes;
    private long closedBytes;
    private volatile long totalBytes;
    private volatile String error;

    FlowLog(Path dir, long maxBytes, long segmentBytes) {
        if (maxBytes < 1024) throw new IllegalArgumentException("the flow log needs at least 1 KiB, not " + maxBytes + " bytes");
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.segmentBytes = Math.max(512, Math.min(segmentBytes, maxBytes));
    }

    Path dir() {
        return dir;
    }

    long maxBytes() {
        return maxBytes;
    }

    long totalBytes() {
        return totalBytes;
    }

    String error() {
        return error;
    }

    void useIndex(boolean use) {
        useIndex = use;
    }

    long segmentsRead() {
        return segmentsRead.sum();
    }

    private List<Path> segments() throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> SEGMENT.matcher(p.getFileName().toString()).matches()).sorted().toList();
        }
    }

    private static long seqOf(Path p) {
        Matcher m = SEGMENT.matcher(p.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : 0;
    }

    /** Up to {@code max} of the newest flows on disk, oldest first: what the ring starts with. */
    List<Flow> loadTail(int max) throws IOException {
        return query(FlowFilter.ALL, max);
    }

    /**
     * The last {@code last} matching flows of the whole log ({@code last <= 0}: all), oldest first. Reads the
     * segments newest first and stops once it has {@code last}, holding no more flows than that; a segment whose
     * index rules out the filter is not read. The writer goes on meanwhile: the segment being written is read up
     * to where it was flushed when the query began.
     */
    List<Flow> query(FlowFilter filter, int last) throws IOException {
        View view = view();
        int want = last <= 0 ? Integer.MAX_VALUE : last;
        ArrayDeque<Flow> out = new ArrayDeque<>();
        for (int i = view.segments().size() - 1; i >= 0 && out.size() < want; i--) {
            Path seg = view.segments().get(i);
            boolean current = seg.equals(view.current());
            long length = current ? view.currentBytes() : size(seg);
            SegmentIndex idx = !useIndex ? null : current ? view.currentIndex() : SegmentIndex.read(seg, length);
            if (idx != null && !idx.mayMatch(filter)) continue;
            // a closed segment without a valid index is read in full anyway: index it on the way
            SegmentIndex.Builder rebuilt = idx == null && !current && useIndex ? new SegmentIndex.Builder() : null;
            Deque<Flow> found = new ArrayDeque<>();
            long read = read(seg, length, filter, want - out.size(), found, rebuilt);
            for (Iterator<Flow> it = found.descendingIterator(); it.hasNext(); ) out.addFirst(it.next());
            if (rebuilt != null && read >= 0) saveIndex(seg, rebuilt.build(read));
        }
        return new ArrayList<>(out);
    }

    /** What a query reads, taken under the lock: the segments, and how far the one being written was flushed. */
    private record View(List<Path> segments, Path current, long currentBytes, SegmentIndex currentIndex) {
    }

    private synchronized View view() throws IOException {
        flush();
        if (out == null) return new View(segments(), null, 0, null);
        return new View(segments(), segment(seq), currentBytes, currentIndex.build(currentBytes));
    }

    /**
     * Reads the first {@code length} bytes of {@code seg}, keeping in {@code found} the last {@code keep} flows that
     * match and adding every flow to {@code index} (when not null). Returns the bytes read, or -1 when the segment
     * was gone (deleted by retention since it was listed).
     */
    private long read(Path seg, long length, FlowFilter filter, int keep, Deque<Flow> found, SegmentIndex.Builder index)
            throws IOException {
        segmentsRead.increment();
        try (BoundedInputStream in = new BoundedInputStream(Files.newInputStream(seg), length)) {
            lines(in, line -> {
                // only a line that may match is parsed, unless the index needs every flow
                if (index == null && outside(filter, line)) return;
                Flow f = parse(line);
                if (f == null) return;
                if (index != null) index.add(f);
                if (!filter.matches(f)) return;
                found.addLast(f);
                if (found.size() > keep) found.removeFirst();
            });
            return in.count();
        } catch (java.nio.file.NoSuchFileException e) {
            return -1;
        }
    }

    /** Writes a rebuilt index, unless retention deleted its segment meanwhile; the index counts toward the limit. */
    private synchronized void saveIndex(Path seg, SegmentIndex idx) {
        if (!Files.exists(seg)) return;
        Path file = SegmentIndex.pathOf(seg);
        long before = size(file);
        try {
            idx.write(seg);
            closedBytes += size(file) - before;
            totalBytes = closedBytes + currentBytes;
        } catch (IOException e) {
            // no index: the segment is read in full again next time
            LOG.log(System.Logger.Level.DEBUG, "cannot write " + file + ": " + e.getMessage());
        }
    }

    /**
     * Whether the time at the start of a line, as this log writes it ({@code {"time":"...","time_nanos":N,}), is
     * outside the filter's window: such a line need not be parsed. A line of another shape is parsed.
     */
    static boolean outside(FlowFilter filter, String line) {
        if (filter.since() == null && filter.until() == null) return false;
        if (!line.startsWith(TIME_PREFIX)) return false;
        int at = line.indexOf('"', TIME_PREFIX.length());
        if (at < 0 || at > 64 || !line.startsWith(NANOS_KEY, at)) return false;
        int i = at + NANOS_KEY.length();
        long t = 0;
        int digits = 0;
        for (; i < line.length() && digits < 19; i++, digits++) {
            char c = line.charAt(i);
            if (c < '0' || c > '9') break;
            t = t * 10 + (c - '0');
        }
        // t < 0: 19 digits past Long.MAX_VALUE, which Jackson refuses; let it
        if (digits == 0 || t < 0 || i >= line.length() || line.charAt(i) != ',') return false;
        return (filter.since() != null && t < filter.since()) || (filter.until() != null && t > filter.until());
    }

    private Flow parse(String line) {
        try {
            return reader.readValue(line);
        } catch (IOException e) {
            return null; // a line torn by a crash or an older format: the rest of the log is still good
        }
    }

    /**
     * The flows of one segment's bytes. Bytes that are not UTF-8 (a line cut inside a character by a crash) are
     * replaced rather than refused, and lines that do not read as a flow ({@code null}, a torn object, an older
     * format) are skipped: one bad line must not cost the other flows of the log.
     */
    List<Flow> read(InputStream in) throws IOException {
        List<Flow> flows = new ArrayList<>();
        lines(in, line -> {
            Flow f = parse(line);
            if (f != null) flows.add(f);
        });
        return flows;
    }

    private static void lines(InputStream in, Consumer<String> each) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE)), 64 * 1024);
        String line;
        while ((line = r.readLine()) != null) {
            if (!line.isBlank()) each.accept(line);
        }
    }

    /** How the log reads and writes flows. */
    static ObjectMapper logMapper() {
        return new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    }

    /**
     * The log's mapper: {@link #logMapper()}, with the sides of a flow, which repeat from flow to flow, written from
     * JSON encoded once ({@link EncodedSides}). The bytes are the same.
     */
    static ObjectMapper writingMapper() {
        return logMapper().registerModule(new com.fasterxml.jackson.databind.module.SimpleModule()
                .addSerializer(FlowEndpoint.class, new EncodedSides(logMapper().writerFor(FlowEndpoint.class))));
    }

    /** Appends one flow; rotates and applies retention when the segment is full. */
    synchronized void append(Flow f) {
        try {
            if (out == null) open();
            long before = out.count();
            writer.writeValue(json, f);
            json.writeRaw('\n');
            json.flush(); // into the segment's buffer only (FLUSH_PASSED_TO_STREAM is off): the line is counted now
            currentBytes += out.count() - before;
            currentIndex.add(f);
            totalBytes = closedBytes + currentBytes;
            if (currentBytes >= segmentBytes) rotate();
            error = null;
        } catch (IOException | RuntimeException e) {
            // also a flow Jackson could not write: the generator may hold part of it, so it goes with the segment
            if (error == null) LOG.log(System.Logger.Level.WARNING, "cannot write the flow log in " + dir + ": " + e.getMessage());
            error = "cannot write " + dir + ": " + e.getMessage();
            closeQuietly();
        }
    }

    synchronized void flush() {
        if (out == null) return;
        try {
            out.flush();
        } catch (IOException e) {
            error = "cannot write " + dir + ": " + e.getMessage();
            closeQuietly();
        }
    }

    private void open() throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            try {
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system
            }
        }
        List<Path> segs = segments();
        seq = segs.isEmpty() ? 1 : seqOf(segs.get(segs.size() - 1)) + 1;
        closedBytes = 0;
        for (Path p : segs) closedBytes += size(p) + size(SegmentIndex.pathOf(p));
        dropOrphanIndexes(segs);
        startSegment();
    }

    /** Index files whose segment is gone (a crash between the two deletions) or half-written ones. */
    private void dropOrphanIndexes(List<Path> segs) throws IOException {
        List<Path> keep = segs.stream().map(SegmentIndex::pathOf).toList();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith("flows-")).toList()) {
                String name = p.getFileName().toString();
                if ((SegmentIndex.isIndexFile(p) && !keep.contains(p)) || name.endsWith(".idx.tmp")) Files.deleteIfExists(p);
            }
        }
    }

    private void startSegment() throws IOException {
        currentBytes = 0;
        currentIndex = new SegmentIndex.Builder();
        out = new CountingOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(segment(seq),
                StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE), 64 * 1024));
        json = mapper.getFactory().createGenerator(out)
                .disable(JsonGenerator.Feature.FLUSH_PASSED_TO_STREAM)
                .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)
                .setRootValueSeparator(null); // each flow ends with its own newline
        retain();
    }

    /** Indexes the segment being written, which is complete now; without an index it is read in full. */
    private void indexCurrent() {
        Path file = SegmentIndex.pathOf(segment(seq));
        try {
            currentIndex.build(currentBytes).write(segment(seq));
            closedBytes += size(file);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot write " + file + ": " + e.getMessage());
        }
    }

    private Path segment(long n) {
        return dir.resolve(String.format("flows-%012d.jsonl", n));
    }

    private void rotate() throws IOException {
        json.close(); // between flows: nothing open, nothing written; its buffers go back to Jackson's pool
        out.close();
        indexCurrent();
        closedBytes += currentBytes;
        seq++;
        startSegment();
    }

    /**
     * Deletes the oldest closed segments until the closed ones and a full current segment fit the limit, so that
     * the log stays within it while the current segment fills.
     */
    private void retain() throws IOException {
        for (Path p : segments()) {
            if (closedBytes + Math.max(currentBytes, segmentBytes) <= maxBytes) break;
            if (seqOf(p) >= seq) break;
            Path index = SegmentIndex.pathOf(p);
            long sz = size(p) + size(index);
            // the index first: a crash in between leaves a segment without one, read in full, never a stale one
            Files.deleteIfExists(index);
            Files.deleteIfExists(p);
            closedBytes -= sz;
        }
        totalBytes = closedBytes + currentBytes;
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    private void closeQuietly() {
        if (out == null) return;
        // the generator holds at most the flow whose write failed: it goes with it (a half-written line is
        // skipped on reading)
        json = null;
        try {
            out.close();
        } catch (IOException ignored) {
            // reported already
        }
        out = null;
    }

    @Override
    public synchronized void close() {
        flush();
        if (out != null) {
            closeQuietly();
            indexCurrent();
        }
    }

    /** Counts the bytes written through it: how long each flow's line is, without a copy of it. */
    private static final class CountingOutputStream extends java.io.FilterOutputStream {
        private long count;

        CountingOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        long count() {
            return count;
        }
    }

    /** Reads at most {@code limit} bytes: the part of the segment being written that was flushed. */
    private static final class BoundedInputStream extends java.io.FilterInputStream {
        private long left;
        private long count;

        BoundedInputStream(InputStream in, long limit) {
            super(in);
            this.left = limit;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) return -1;
            int b = super.read();
            if (b >= 0) {
                left--;
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) return -1;
            int n = super.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
                count += n;
            }
            return n;
        }

        long count() {
            return count;
        }
    }
}
