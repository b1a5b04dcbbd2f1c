package io.septum.policy.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.api.policy.PolicyRevision;
import io.septum.support.io.AtomicFiles;
import io.septum.support.text.LineDiff;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The policy history on disk: {@code <state>/policies/history.jsonl}, one JSON object per line per policy change
 * (revision, time, author, action, change, kind, namespace, name, origin, note and the document after the change,
 * null for a delete). Appends are forced to disk before they return. A line torn by a crash (the last one) is skipped
 * when the file is read. When the file holds twice {@link #keep} entries it is rewritten with the newest {@code keep},
 * plus the last entry of every policy in force, through {@link AtomicFiles}, so it grows with the number of policies
 * and not with time; older changes are then gone from the history, but it can always rebuild the state.
 *
 * <p>Not thread-safe: the repository calls it under its lock.
 */
final class PolicyHistoryLog {
    static final String FILE = "history.jsonl";
    static final int DEFAULT_KEEP = 2000;
    private static final System.Logger LOG = System.getLogger(PolicyHistoryLog.class.getName());

    /** One recorded change; {@code document} is the policy after it, null when the change deleted it. */
    record Entry(long revision, String time, String author, String action, String change, String kind,
                 String namespace, String name, String origin, String note, String document) {
        /** An entry for policy {@code p} at revision {@code rev}, now. */
        static Entry of(long rev, String author, String action, String change, io.septum.api.policy.PolicyInfo p,
                        String note, String document) {
            return new Entry(rev, java.time.Instant.now().toString(), author, action, change, p.kind(), p.namespace(),
                    p.name(), p.origin(), note, document);
        }

        boolean samePolicy(String ns, String n) {
            return namespace.equals(ns) && name.equals(n);
        }

        String qualifiedName() {
            return namespace.isEmpty() ? name : namespace + "/" + name;
        }
    }

    private final Path dir;
    private final int keep;
    private final ObjectMapper json = new ObjectMapper();
    private final List<Entry> entries = new ArrayList<>();
    /**
     * The revision from which the history holds every change; before it only the last entry of the policies that
     * were in force at the last compaction survives. 0: complete from the start. Kept in the file's first line.
     */
    private long completeFrom;
    private String problem;

    PolicyHistoryLog(Path dir, int keep) {
        this.dir = dir;
        this.keep = keep;
        load();
    }

    Path file() {
        return dir.resolve(FILE);
    }

    /** Why the last load or append could not do its whole job, or null. */
    String problem() {
        return problem;
    }

    List<Entry> entries() {
        return List.copyOf(entries);
    }

    /** The revision from which every change is recorded (older ones were compacted away; 0: none were). */
    long completeFrom() {
        return completeFrom;
    }

    long lastRevision() {
        return entries.isEmpty() ? 0 : entries.get(entries.size() - 1).revision();
    }

    /**
     * The last entry of every policy the history says is in force (its last entry is not a delete), in revision
     * order: enough to rebuild the repository's state at {@link #lastRevision()}.
     */
    List<Entry> inForce() {
        java.util.Map<String, Entry> last = new java.util.LinkedHashMap<>();
        for (Entry e : entries) {
            String key = e.kind() + " " + e.namespace() + "/" + e.name();
            last.remove(key);
            if (e.document() != null) last.put(key, e);
        }
        List<Entry> out = new ArrayList<>(last.values());
        out.sort(java.util.Comparator.comparingLong(Entry::revision));
        return out;
    }

    /** The policy's last recorded document (null: deleted, or never recorded). */
    String lastDocument(String kind, String namespace, String name) {
        for (int i = entries.size() - 1; i >= 0; i--) {
            Entry e = entries.get(i);
            if (e.kind().equals(kind) && e.samePolicy(namespace, name)) return e.document();
        }
        return null;
    }

    private void load() {
        Path f = file();
        if (!Files.exists(f)) return;
        List<String> lines;
        try {
            lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        } catch (IOException e) {
            problem = "policy history " + f + " is unreadable (" + e.getMessage() + "); history starts empty";
            LOG.log(System.Logger.Level.ERROR, problem);
            return;
        }
        int skipped = 0;
        for (String line : lines) {
            if (line.isBlank()) continue;
            try {
                JsonNode n = json.readTree(line);
                if (n.has("completeFrom")) {
                    completeFrom = Math.max(completeFrom, n.path("completeFrom").asLong(0));
                    continue;
                }
                entries.add(new Entry(n.path("revision").asLong(), n.path("time").asText(), n.path("author").asText(),
                        n.path("action").asText(), n.path("change").asText(), n.path("kind").asText(),
                        n.path("namespace").asText(""), n.path("name").asText(), n.path("origin").asText(null),
                        n.path("note").asText(null), n.hasNonNull("document") ? n.get("document").asText() : null));
            } catch (IOException e) {
                skipped++; // a torn last line after a crash; anything else is reported below
            }
        }
        if (skipped > 0) {
            problem = "policy history " + f + ": " + skipped + " unreadable line(s) skipped";
            LOG.log(System.Logger.Level.WARNING, problem);
        }
    }

    /** Appends the entries of one change and forces them to disk; on failure they are kept in memory only. */
    /**
     * Records that the history is complete only from {@code revision} on (the policies it holds older entries for
     * were recorded at start, not when they changed): a rollback before it is refused.
     */
    void markCompleteFrom(long revision) {
        if (revision <= completeFrom) return;
        completeFrom = revision;
        try {
            Files.createDirectories(dir);
            try (FileChannel ch = FileChannel.open(file(), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                ch.write(ByteBuffer.wrap(("{\"completeFrom\":" + revision + "}\n").getBytes(StandardCharsets.UTF_8)));
                ch.force(true);
            }
        } catch (IOException e) {
            problem = "cannot write the policy history " + file() + ": " + e.getMessage();
            LOG.log(System.Logger.Level.ERROR, problem);
        }
    }

    void append(List<Entry> change) {
        if (change.isEmpty()) return;
        entries.addAll(change);
        StringBuilder b = new StringBuilder();
        for (Entry e : change) b.append(line(e)).append('\n');
        try {
            Files.createDirectories(dir);
            if (entries.size() >= 2 * keep) {
                // the newest entries (from a revision boundary: an import's entries share one), the last one of
                // every policy in force however old (the history can always rebuild the state), and each policy's
                // last entry before the cut, deletes too (so the state at any revision from the cut on is known)
                int cut = entries.size() - keep;
                while (cut > 0 && entries.get(cut - 1).revision() == entries.get(cut).revision()) cut--;
                completeFrom = entries.get(cut).revision();
                java.util.Set<Entry> kept = new java.util.HashSet<>(entries.subList(cut, entries.size()));
                kept.addAll(inForce());
                java.util.Map<String, Entry> lastBeforeCut = new java.util.HashMap<>();
                for (Entry e : entries.subList(0, cut)) lastBeforeCut.put(e.kind() + " " + e.qualifiedName(), e);
                kept.addAll(lastBeforeCut.values());
                entries.removeIf(e -> !kept.contains(e));
                StringBuilder all = new StringBuilder("{\"completeFrom\":" + completeFrom + "}\n");
                for (Entry e : entries) all.append(line(e)).append('\n');
                AtomicFiles.write(file(), all.toString().getBytes(StandardCharsets.UTF_8), AtomicFiles.WORLD_READABLE);
                return;
            }
            try (FileChannel ch = FileChannel.open(file(), StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                long end = ch.size();
                // a line a failed append left unfinished must not swallow this one: start on a line of its own
                if (end > 0) {
                    ByteBuffer lastByte = ByteBuffer.allocate(1);
                    ch.read(lastByte, end - 1);
                    if (lastByte.get(0) != '\n') b.insert(0, '\n');
                }
                ByteBuffer buf = ByteBuffer.wrap(b.toString().getBytes(StandardCharsets.UTF_8));
                while (buf.hasRemaining()) end += ch.write(buf, end);
                ch.force(true);
            }
        } catch (IOException | RuntimeException e) {
            // never fails the change: it is applied already (the state file is written first)
            problem = "cannot write the policy history " + file() + ": " + e.getMessage()
                    + " (changes are applied; their history is in memory until restart)";
            LOG.log(System.Logger.Level.ERROR, problem);
        }
    }

    private String line(Entry e) {
        ObjectNode n = json.createObjectNode();
        n.put("revision", e.revision());
        n.put("time", e.time());
        n.put("author", e.author());
        n.put("action", e.action());
        n.put("change", e.change());
        n.put("kind", e.kind());
        n.put("namespace", e.namespace());
        n.put("name", e.name());
        n.put("origin", e.origin());
        n.put("note", e.note());
        n.put("document", e.document());
        try {
            return json.writeValueAsString(n);
        } catch (IOException impossible) {
            throw new UncheckedIOException(impossible);
        }
    }

    /**
     * The changes of one policy ({@code name} null: of all), newest first, each with its diff against the same
     * policy's previous entry.
     */
    List<PolicyRevision> revisions(String namespace, String name, int limit) {
        List<PolicyRevision> out = new ArrayList<>();
        for (int i = entries.size() - 1; i >= 0 && (limit <= 0 || out.size() < limit); i--) {
            Entry e = entries.get(i);
            if (name != null ? !e.samePolicy(namespace, name) : !namespace.isEmpty() && !e.namespace().equals(namespace)) continue;
            String before = null;
            for (int j = i - 1; j >= 0; j--) {
                Entry p = entries.get(j);
                if (p.kind().equals(e.kind()) && p.samePolicy(e.namespace(), e.name())) {
                    before = p.document();
                    break;
                }
            }
            List<String> diff = Objects.equals(before, e.document()) ? List.of()
                    : LineDiff.unified(lines(before), lines(e.document()));
            out.add(new PolicyRevision(e.revision(), e.time(), e.author(), e.action(), e.change(), e.kind(),
                    e.qualifiedName(), e.origin(), e.note(), diff));
        }
        return out;
    }

    private static List<String> lines(String document) {
        return document == null ? List.of() : List.of(document.strip().split("\n", -1));
    }
}
