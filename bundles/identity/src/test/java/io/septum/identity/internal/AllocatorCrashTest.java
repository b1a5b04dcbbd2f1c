package io.septum.identity.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.ComponentStatus;
import io.septum.api.Identity;
import io.septum.api.Labels;
import io.septum.support.io.AtomicFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Real processes, real {@code kill -9}: a child JVM allocates identities in a loop on a state directory, is killed at
 * a random moment, and the table it leaves must load, hold every number the child reported as persisted with the same
 * labels, and never give one number to two label sets. Ten rounds on the same directory, so each round also restarts
 * from what the previous kills left.
 *
 * <p>A kill does not lose the page cache, so this proves atomicity against process death (no torn, empty or stale
 * file; no number handed out before it is written), not durability against power loss, which only the fsyncs in
 * {@link AtomicFiles} give and which cannot be tested without pulling the plug.
 */
class AllocatorCrashTest {
    private static final int ROUNDS = 10;
    private static final Pattern PERSISTED = Pattern.compile("PERSISTED (\\d+) (\\d+) (\\d+) \\.");

    @TempDir
    Path dir;

    @Test
    void killedAllocatorNeverLosesNorReusesAPersistedNumber() throws Exception {
        Path state = Files.createDirectories(dir.resolve("state"));
        long seed = System.nanoTime();
        Random random = new Random(seed);
        String context = "seed " + seed + ", state " + state;
        // What the children reported, across rounds: id to "round/n", and back.
        Map<Long, String> labelsById = new HashMap<>();
        Map<String, Long> idByLabels = new HashMap<>();
        int killedWhileAllocating = 0;

        for (int round = 0; round < ROUNDS; round++) {
            Path stderr = dir.resolve("child-" + round + ".stderr");
            long killAfter = 50 + random.nextInt(1500);
            List<String> lines = runAndKill(state, round, random.nextLong(), killAfter, stderr, context);

            int before = labelsById.size();
            for (String line : lines) {
                Matcher m = PERSISTED.matcher(line);
                if (!m.matches()) continue; // READY, or a line cut by the kill
                long id = Long.parseLong(m.group(1));
                String key = m.group(2) + "/" + m.group(3);
                String had = labelsById.putIfAbsent(id, key);
                if (had != null && !had.equals(key)) {
                    fail("round " + round + ": number " + id + " given to " + key + " after " + had + " (" + context + ")");
                }
                Long hadId = idByLabels.putIfAbsent(key, id);
                if (hadId != null && hadId != id) {
                    fail("round " + round + ": label set " + key + " moved from " + hadId + " to " + id + " (" + context + ")");
                }
            }
            if (!lines.isEmpty() && PERSISTED.matcher(lines.get(lines.size() - 1)).matches()
                    && lines.size() < AllocatorCrashChild.MAX_ALLOCATIONS) {
                killedWhileAllocating++;
            }

            // The file parses as it is, before anything could set it aside.
            Path file = state.resolve(LocalIdentityAllocator.FILE);
            if (!labelsById.isEmpty()) {
                JsonNode root = new ObjectMapper().readTree(file.toFile());
                assertTrue(root.path("identities").isArray(), "round " + round + ": no identities array (" + context + ")");
            }
            // A restarted allocator sees every reported number with its labels.
            LocalIdentityAllocator restarted = new LocalIdentityAllocator(state);
            ComponentStatus health = restarted.health();
            assertEquals("ok", health.state(), "round " + round + ": " + health.message() + " (" + context + ")");
            for (Map.Entry<Long, String> e : labelsById.entrySet()) {
                String[] rn = e.getValue().split("/");
                Labels labels = AllocatorCrashChild.labels(Integer.parseInt(rn[0]), Integer.parseInt(rn[1]));
                Identity byLabels = restarted.lookup(labels).orElse(null);
                if (byLabels == null || byLabels.id() != e.getKey()) {
                    fail("round " + round + ": " + e.getValue() + " was persisted as " + e.getKey() + ", after restart "
                            + byLabels + " (" + context + ")");
                }
                assertEquals(labels.asStrings(), restarted.get(e.getKey()).orElseThrow().labels(), context);
            }
            assertFalse(Files.exists(state.resolve(LocalIdentityAllocator.FILE + ".corrupt")), context);
            System.out.printf("crash round %d: killed after %d ms, %d new numbers reported, %d in total%n",
                    round, killAfter, labelsById.size() - before, labelsById.size());
        }

        // Each kill leaves at most the one fixed-name temporary file, which the next write replaces.
        try (var s = Files.list(state)) {
            List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
            assertTrue(names.equals(List.of(LocalIdentityAllocator.FILE))
                    || names.equals(List.of("." + LocalIdentityAllocator.FILE + ".tmp", LocalIdentityAllocator.FILE)),
                    names + " (" + context + ")");
        }
        assertTrue(labelsById.size() >= ROUNDS, "the children allocated almost nothing (" + context + ")");
        assertTrue(killedWhileAllocating >= ROUNDS / 2,
                "only " + killedWhileAllocating + " of " + ROUNDS + " kills hit a running loop (" + context + ")");
    }

    /** Starts the child, waits for it to be ready, lets it run {@code killAfter} ms, kills it; its stdout lines. */
    private static List<String> runAndKill(Path state, int round, long seed, long killAfter, Path stderr, String context)
            throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"),
                AllocatorCrashChild.class.getName(), state.toString(), Integer.toString(round), Long.toString(seed))
                .redirectError(stderr.toFile());
        List<String> lines = new ArrayList<>();
        Process child = pb.start();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    synchronized (lines) {
                        lines.add(l);
                        lines.notifyAll();
                    }
                }
            } catch (IOException ignored) {
                // the pipe breaks when the child is killed
            }
        }, "crash-child-" + round + "-stdout");
        reader.setDaemon(true);
        reader.start();
        try {
            long readyBy = System.currentTimeMillis() + 20_000;
            synchronized (lines) {
                while (!lines.contains("READY") && child.isAlive() && System.currentTimeMillis() < readyBy) {
                    lines.wait(100);
                }
                if (!lines.contains("READY")) {
                    fail("round " + round + ": the child did not start: " + Files.readString(stderr) + " (" + context + ")");
                }
            }
            Thread.sleep(killAfter);
            if (!child.isAlive()) {
                fail("round " + round + ": the child exited by itself with " + child.exitValue() + ": "
                        + Files.readString(stderr) + " (" + context + ")");
            }
            child.destroyForcibly(); // SIGKILL
            assertTrue(child.waitFor(10, TimeUnit.SECONDS), "round " + round + ": the child outlived SIGKILL");
            reader.join(5_000);
        } finally {
            if (child.isAlive()) {
                child.destroyForcibly();
                child.waitFor(10, TimeUnit.SECONDS);
            }
            reader.interrupt();
        }
        synchronized (lines) {
            return new ArrayList<>(lines);
        }
    }
}
