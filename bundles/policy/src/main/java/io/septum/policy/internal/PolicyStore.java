package io.septum.policy.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.api.policy.PolicyValidationException;
import io.septum.support.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The repository's file: {@code <state>/policies/state.json} holding the revision and, per policy, its origin,
 * revision and the document as the user wrote it. Written with {@link AtomicFiles} (temporary file forced to disk,
 * renamed over the old one, directory forced; mode 0644), so a crash leaves either the old or the new state, never a
 * torn one.
 */
final class PolicyStore {
    static final String FILE = "state.json";
    /** The end of {@link #problem()} when nothing could be restored; the repository replaces it when it rebuilds. */
    static final String STARTING_EMPTY = " and starting with no policies: import them again";
    private static final System.Logger LOG = System.getLogger(PolicyStore.class.getName());

    /** One stored policy. */
    record Stored(String kind, String namespace, String name, String origin, long revision, String document) {
    }

    record State(long revision, List<Stored> policies) {
    }

    private final Path dir;
    private final ObjectMapper json = new ObjectMapper();

    PolicyStore(Path dir) {
        this.dir = dir;
    }

    Path file() {
        return dir.resolve(FILE);
    }

    /** Why the last {@link #load()} started empty although a file was there, or null. */
    private volatile String problem;

    String problem() {
        return problem;
    }

    State load() {
        Path f = file();
        if (!Files.exists(f)) return new State(0, List.of());
        try {
            JsonNode root = json.readTree(f.toFile());
            // an empty file is damage, not "no policies": it is moved aside and reported like any unreadable one
            if (root == null || !root.isObject()) throw new IOException("empty or not a JSON object");
            long revision = root.path("revision").asLong(0);
            List<Stored> out = new ArrayList<>();
            for (JsonNode p : root.path("policies")) {
                out.add(new Stored(p.path("kind").asText(), p.path("namespace").asText(""), p.path("name").asText(),
                        p.path("origin").asText(), p.path("revision").asLong(), p.path("document").asText()));
            }
            return new State(revision, out);
        } catch (IOException e) {
            // keep the unreadable file for the operator instead of overwriting it on the next change
            Path aside = dir.resolve(FILE + ".corrupt-" + System.currentTimeMillis());
            try {
                Files.move(f, aside);
            } catch (IOException ignored) {
                // best effort; the error below says what happened
            }
            problem = "policy state " + f + " is unreadable (" + e.getMessage() + "); moved to " + aside
                    + STARTING_EMPTY;
            LOG.log(System.Logger.Level.ERROR, problem);
            return new State(0, List.of());
        }
    }

    void save(State state) {
        ObjectNode root = json.createObjectNode();
        root.put("version", 1);
        root.put("revision", state.revision());
        ArrayNode arr = root.putArray("policies");
        for (Stored s : state.policies()) {
            ObjectNode p = arr.addObject();
            p.put("kind", s.kind());
            p.put("namespace", s.namespace());
            p.put("name", s.name());
            p.put("origin", s.origin());
            p.put("revision", s.revision());
            p.put("document", s.document());
        }
        try {
            Files.createDirectories(dir);
            byte[] bytes = json.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
            AtomicFiles.write(file(), bytes, AtomicFiles.WORLD_READABLE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write policy state to " + file() + ": " + e.getMessage(), e);
        }
    }

    static String describe(PolicyValidationException e) {
        return e.getMessage().replace('\n', ';');
    }

    /**
     * The state as the history last recorded it, or null when the history has nothing (or a policy of it no longer
     * parses, so the rebuilt set would not be what was enforced).
     */
    static State rebuild(PolicyHistoryLog history, io.septum.api.policy.PolicyEngine engine) {
        if (history.lastRevision() == 0) return null;
        List<Stored> stored = new java.util.ArrayList<>();
        for (PolicyHistoryLog.Entry e : history.inForce()) {
            try {
                engine.parse(e.origin() == null ? "history" : e.origin(), e.document());
            } catch (io.septum.api.policy.PolicyValidationException ex) {
                LOG.log(System.Logger.Level.ERROR, "cannot rebuild the policies from the history: " + e.kind() + " "
                        + e.qualifiedName() + " no longer validates: " + describe(ex));
                return null;
            }
            stored.add(new Stored(e.kind(), e.namespace(), e.name(), e.origin(), e.revision(), e.document()));
        }
        return new State(history.lastRevision(), stored);
    }
}
