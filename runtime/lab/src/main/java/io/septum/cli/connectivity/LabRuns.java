package io.septum.cli.connectivity;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The bookkeeping that lets a lab be found and removed after its process died, shared by {@link NetLab} and
 * {@link DockerLab}: run ids, each run's directory and owner file under {@link #stateBase()}, the processes a run
 * records, and whether the process that owns a run still lives.
 *
 * <p>An owner file {@code <run>.owner} holds the owner's pid and start time (then what the lab adds, e.g. its
 * subnet). Objects without an owner file are not provably a lab's (other tests use {@code sept-} names too) and are
 * never touched.
 */
final class LabRuns {
    /** A run id is one lower-case letter (who made it) and four hex digits. */
    static final int RUN_ID_LENGTH = 5;
    static final Pattern RUN_ID = Pattern.compile("[a-z][0-9a-f]{4}");
    static final SecureRandom RANDOM = new SecureRandom();
    /** The file in a lab's directory that lists the processes it runs besides its listeners. */
    private static final String PROCESSES = "processes";
    private static final long CMD_TIMEOUT_MS = 10_000;

    private LabRuns() {
    }

    static void checkKind(char kind) {
        if (kind < 'a' || kind > 'z') throw new IllegalArgumentException("lab kind must be a lower-case letter");
    }

    /** A new run: its id and its (empty, new) directory. */
    record Run(String id, Path dir) {
    }

    /**
     * Picks a fresh run id for a lab of {@code kind} (one lower-case letter: {@code c} connectivity test, {@code d}
     * demo, {@code t} tests) and creates its directory; {@code inUse} rejects ids whose objects still exist.
     */
    static Run allocate(char kind, Predicate<String> inUse, String leftoversHint) {
        Path base = stateBase();
        for (int attempt = 0; attempt < 20; attempt++) {
            String id = kind + String.format("%04x", RANDOM.nextInt(1 << 16));
            if (inUse.test(id)) continue;
            Path dir = base.resolve(id);
            try {
                Files.createDirectories(base);
                Files.createDirectory(dir);
            } catch (FileAlreadyExistsException e) {
                continue;
            } catch (IOException e) {
                throw new LabException("cannot create the lab's directory " + dir + ": " + e.getMessage(), e);
            }
            return new Run(id, dir);
        }
        throw new LabException("no free lab run id found after 20 attempts; " + leftoversHint);
    }

    /** Where labs keep their owner files and listener scripts: a tmpfs, so a reboot forgets them with the objects. */
    static Path stateBase() {
        String override = System.getProperty("septum.lab.dir");
        if (override != null && !override.isBlank()) return Path.of(override);
        Path run = Path.of("/run");
        return Files.isWritable(run) ? run.resolve("septum-lab") : Path.of(System.getProperty("java.io.tmpdir"), "septum-lab");
    }

    static Path ownerFile(String runId) {
        return stateBase().resolve(runId + ".owner");
    }

    /** Writes run {@code runId}'s owner file: this process, then {@code extra} (what the lab wants to remember). */
    static void writeOwner(String runId, String extra) {
        ProcessHandle self = ProcessHandle.current();
        String start = self.info().startInstant().map(i -> Long.toString(i.toEpochMilli())).orElse("0");
        try {
            Files.writeString(ownerFile(runId), self.pid() + " " + start + " " + extra + "\n");
        } catch (IOException e) {
            throw new LabException("cannot write the lab's owner file in " + stateBase() + ": " + e.getMessage(), e);
        }
    }

    /** Removes the owner file of a run that left nothing behind. */
    static void deleteOwner(String runId) {
        try {
            Files.deleteIfExists(ownerFile(runId));
        } catch (IOException ignored) {
            // a leftover owner file without objects is harmless; cleanupStale removes it
        }
    }

    /** Whether lab {@code runId} is a leftover: its owner file names a process that is gone. */
    static boolean isStaleRun(String runId) {
        return RUN_ID.matcher(runId).matches() && isStale(runId);
    }

    /** Whether run {@code id} was made by a process that is gone; false without an owner file. */
    static boolean isStale(String id) {
        Path owner = ownerFile(id);
        if (!Files.exists(owner)) return false;
        return !ownerAlive(readQuietly(owner));
    }

    /** Whether the process named in an owner file (or a processes line) still runs (same pid and start time). */
    private static boolean ownerAlive(String ownerFile) {
        String[] f = ownerFile.trim().split("\\s+");
        if (f.length < 2) return false;
        try {
            long pid = Long.parseLong(f[0]);
            long start = Long.parseLong(f[1]);
            Optional<ProcessHandle> h = ProcessHandle.of(pid);
            if (h.isEmpty() || !h.get().isAlive()) return false;
            long actual = h.get().info().startInstant().map(i -> i.toEpochMilli()).orElse(0L);
            return start == 0 || actual == 0 || Math.abs(actual - start) < 2000;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** Records {@code p} in the run's directory, so that a later cleanup can kill it once the owner died. */
    static void recordProcess(Path dir, Process p) {
        String start = p.info().startInstant().map(i -> Long.toString(i.toEpochMilli())).orElse("0");
        try {
            Files.writeString(dir.resolve(PROCESSES), p.pid() + " " + start + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            Cmd.kill(p);
            throw new LabException("cannot record process " + p.pid() + " in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Kills the processes a run recorded ({@link #recordProcess}) that still run with the recorded start time. */
    static void killRecorded(Path dir) {
        for (String line : readQuietly(dir.resolve(PROCESSES)).split("\n")) {
            if (line.isBlank()) continue;
            // a pid is killed only when its start time was recorded and still matches: never whatever reuses the pid
            String[] f = line.trim().split("\\s+");
            if (f.length < 2 || f[1].equals("0") || !ownerAlive(line)) continue;
            long actual = ProcessHandle.of(Long.parseLong(f[0])).flatMap(h -> h.info().startInstant())
                    .map(Instant::toEpochMilli).orElse(0L);
            if (actual == 0) continue;
            try {
                ProcessHandle.of(Long.parseLong(line.trim().split("\\s+")[0])).ifPresent(Cmd::kill);
            } catch (NumberFormatException ignored) {
                // not a pid line
            }
        }
    }

    /** Removes a run's directory, after unmounting what is mounted under it. */
    static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        unmountUnder(p);
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        } catch (IOException ignored) {
            // leftovers are removed by cleanupStale
        }
    }

    /**
     * Unmounts what is mounted under {@code p} (a multi-node lab mounts a bpffs per node there), deepest first, so
     * that the tree can be removed.
     */
    private static void unmountUnder(Path p) {
        String prefix = p.toAbsolutePath().normalize() + "/";
        List<String> mounts = new ArrayList<>();
        for (String line : readQuietly(Path.of("/proc/self/mounts")).split("\n")) {
            String[] f = line.split(" ");
            if (f.length > 1 && f[1].startsWith(prefix)) mounts.add(f[1]);
        }
        mounts.sort(Comparator.comparing(String::length).reversed());
        for (String m : mounts) Cmd.run(CMD_TIMEOUT_MS, "umount", "-l", m);
    }

    static String readQuietly(Path p) {
        try {
            return p == null ? "" : Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    /** Throws naming the first of {@code tools} not on the PATH, with {@code why} (what needs which packages). */
    static void requireTools(List<String> tools, String why) {
        for (String tool : tools) {
            if (!onPath(tool)) throw new LabException(tool + " is not installed; " + why);
        }
    }

    static boolean onPath(String tool) {
        return Stream.of(System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"))
                .anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
    }

    /** Sleeps between polls of a lab's state. */
    static void pause(long millis) {
        LabException.pause(millis, "interrupted while waiting for the lab");
    }
}
