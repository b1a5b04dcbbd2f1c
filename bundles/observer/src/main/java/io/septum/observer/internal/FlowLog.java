package io.septum.observer.internal;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.flow.Flow;
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
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The on-disk flow log: JSON lines in numbered segment files {@code flows-NNNNNNNNNNNN.jsonl}. A segment is
 * closed once it reaches {@code segmentBytes}; the oldest segments are deleted while the total exceeds
 * {@code maxBytes}. A line cut short by a crash is skipped on reading. Not thread-safe: the observer's thread
 * owns it, and queries take its lock.
 */
final class FlowLog implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(FlowLog.class.getName());
    private static final Pattern SEGMENT = Pattern.compile("flows-(\\d{12})\\.jsonl");

    private final Path dir;
    private final long maxBytes;
    private final long segmentBytes;
    private final ObjectMapper mapper = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private OutputStream out;
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
    synchronized List<Flow> loadTail(int max) throws IOException {
        ArrayDeque<Flow> out = new ArrayDeque<>();
        List<Path> segs = new ArrayList<>(segments());
        for (int i = segs.size() - 1; i >= 0 && out.size() < max; i--) {
            List<Flow> flows = read(segs.get(i));
            for (int j = flows.size() - 1; j >= 0 && out.size() < max; j--) out.addFirst(flows.get(j));
        }
        return new ArrayList<>(out);
    }

    /** The last {@code last} matching flows of the whole log ({@code last <= 0}: all), oldest first. */
    synchronized List<Flow> query(FlowFilter filter, int last) throws IOException {
        flush();
        ArrayDeque<Flow> out = new ArrayDeque<>();
        for (Path seg : segments()) {
            for (Flow f : read(seg)) {
                if (!filter.matches(f)) continue;
                out.addLast(f);
                if (last > 0 && out.size() > last) out.removeFirst();
            }
        }
        return new ArrayList<>(out);
    }

    private List<Flow> read(Path seg) throws IOException {
        try (InputStream in = Files.newInputStream(seg)) {
            return read(in);
        } catch (java.nio.file.NoSuchFileException e) {
            // deleted by retention between listing and reading
            return List.of();
        }
    }

    /**
     * The flows of one segment's bytes. Bytes that are not UTF-8 (a line cut inside a character by a crash) are
     * replaced rather than refused, and lines that do not read as a flow ({@code null}, a torn object, an older
     * format) are skipped: one bad line must not cost the other flows of the log.
     */
    List<Flow> read(InputStream in) throws IOException {
        List<Flow> flows = new ArrayList<>();
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE)));
        String line;
        while ((line = r.readLine()) != null) {
            if (line.isBlank()) continue;
            try {
                Flow f = mapper.readValue(line, Flow.class);
                if (f != null) flows.add(f);
            } catch (IOException e) {
                // a line torn by a crash or an older format: the rest of the log is still good
            }
        }
        return flows;
    }

    /** Appends one flow; rotates and applies retention when the segment is full. */
    synchronized void append(Flow f) {
        try {
            if (out == null) open();
            byte[] line = mapper.writeValueAsBytes(f);
            out.write(line);
            out.write('\n');
            currentBytes += line.length + 1;
            totalBytes = closedBytes + currentBytes;
            if (currentBytes >= segmentBytes) rotate();
            error = null;
        } catch (IOException e) {
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
        for (Path p : segs) closedBytes += size(p);
        currentBytes = 0;
        out = new java.io.BufferedOutputStream(Files.newOutputStream(segment(seq), StandardOpenOption.CREATE,
                StandardOpenOption.APPEND, StandardOpenOption.WRITE), 64 * 1024);
        retain();
    }

    private Path segment(long n) {
        return dir.resolve(String.format("flows-%012d.jsonl", n));
    }

    private void rotate() throws IOException {
        out.close();
        closedBytes += currentBytes;
        currentBytes = 0;
        seq++;
        out = new java.io.BufferedOutputStream(Files.newOutputStream(segment(seq), StandardOpenOption.CREATE,
                StandardOpenOption.APPEND, StandardOpenOption.WRITE), 64 * 1024);
        retain();
    }

    /**
     * Deletes the oldest closed segments until the closed ones and a full current segment fit the limit, so that
     * the log stays within it while the current segment fills.
     */
    private void retain() throws IOException {
        for (Path p : segments()) {
            if (closedBytes + Math.max(currentBytes, segmentBytes) <= maxBytes) break;
            if (seqOf(p) >= seq) break;
            long sz = size(p);
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
        closeQuietly();
    }
}
