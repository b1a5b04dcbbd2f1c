package io.septum.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.net.URLEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * An exclusive lock on one of the agent's directories ({@code <dir>/agent.lock}, or for a directory that can hold no
 * file of its own a file named after it in a shared lock directory), taken before the agent touches the directory
 * and held until the agent has stopped. The kernel releases it when the process ends, however it ends, so
 * a killed agent leaves no stale lock. The pid file alone could not guard a start: it is written once the framework
 * runs, and a second agent started before that would empty the first one's bundle cache (state directory) or take
 * its API socket (run directory).
 *
 * <p>The lock is a POSIX record lock ({@code fcntl}, what {@link FileChannel#tryLock()} takes on Linux), which belongs
 * to the process: closing any descriptor of the file in this process would drop it. So a process opens the file of a
 * directory it already holds never again; the directories it holds are kept in {@link #HELD}, which is per process
 * like the locks themselves.
 */
final class DirLock implements AutoCloseable {
    static final String FILE = "agent.lock";
    private static final Logger LOG = Logger.getLogger(DirLock.class.getName());
    /** The lock files this process holds (real paths). */
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private DirLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock of {@code dir} (which exists) and writes this process's pid into its file, or refuses, naming the
     * agent that holds it. {@code what} names the directory in messages ("state directory"), {@code option} the
     * option that chooses another one.
     */
    static DirLock acquire(Path dir, String what, String option) throws Launcher.LaunchException {
        Path file;
        try {
            file = dir.toRealPath().resolve(FILE);
        } catch (IOException e) {
            throw new Launcher.LaunchException("cannot open the " + what + " " + dir + ": " + e.getMessage(), e);
        }
        return lock(file, dir, what, option);
    }

    /**
     * The lock of a directory that cannot hold a file of its own (a BPF pin directory: bpffs holds pins only): a file
     * named after the directory's path in {@code lockDir}, which is made when missing. Where {@code lockDir} cannot
     * be made, the agent runs without this lock, and says so.
     */
    static DirLock acquireIn(Path lockDir, Path dir, String what, String option) throws Launcher.LaunchException {
        Path file;
        try {
            Files.createDirectories(lockDir);
            file = lockDir.toRealPath().resolve(lockName(dir));
        } catch (IOException | SecurityException e) {
            LOG.warning("cannot make " + lockDir + " (" + e.getMessage() + "): a second agent on the " + what + " "
                    + dir + " would not be refused");
            return new DirLock(lockDir, null, null);
        }
        return lock(file, dir, what, option);
    }

    /**
     * The name of {@code dir}'s lock file in a shared lock directory: its path (the real one when it exists, so that
     * two spellings of one directory share a lock) URL-encoded, or its SHA-256 when that would be too long a name.
     */
    static String lockName(Path dir) {
        Path key = dir.toAbsolutePath().normalize();
        try {
            key = key.toRealPath();
        } catch (IOException e) {
            // not made yet: its path as given
        }
        String name = URLEncoder.encode(key.toString(), StandardCharsets.UTF_8);
        if (name.length() <= 200) return name + ".lock";
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(key.toString().getBytes(StandardCharsets.UTF_8));
            return "sha256-" + HexFormat.of().formatHex(h) + ".lock";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }

    private static DirLock lock(Path file, Path dir, String what, String option) throws Launcher.LaunchException {
        if (!HELD.add(file)) throw refused(dir, file, what, option, Long.toString(ProcessHandle.current().pid()));
        FileChannel ch = null;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (IOException e) {
                // a file system without record locks (ENOLCK): run as before there was a lock, and say so
                LOG.warning("cannot lock " + file + " (" + e.getMessage() + "): a second agent on the " + what
                        + " would not be refused");
                DirLock unlocked = new DirLock(file, ch, null);
                ch = null;
                return unlocked;
            }
            if (lock == null) throw refused(dir, file, what, option, holder(ch));
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            DirLock held = new DirLock(file, ch, lock);
            ch = null;
            return held;
        } catch (IOException e) {
            throw new Launcher.LaunchException("cannot lock " + file + ": " + e.getMessage(), e);
        } finally {
            if (ch != null) {
                closeQuietly(ch);
                HELD.remove(file);
            }
        }
    }

    private static Launcher.LaunchException refused(Path dir, Path file, String what, String option, String pid) {
        return new Launcher.LaunchException("another Septum agent" + (pid.isEmpty() ? "" : " (pid " + pid + ")")
                + " is using the " + what + " " + dir + " (" + file + " is locked): stop it first, or give"
                + " this one another " + option);
    }

    /**
     * The pid the holder wrote, or "" when it has not written it yet (the file may still name an agent that has
     * stopped: only a live process is named).
     */
    private static String holder(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(32);
            ch.read(b, 0);
            String s = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim();
            if (!s.matches("[0-9]{1,18}")) return "";
            return ProcessHandle.of(Long.parseLong(s)).filter(ProcessHandle::isAlive).isPresent() ? s : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** Empties the file (no agent holds the directory now) and releases the lock; the file stays. */
    @Override
    public void close() {
        if (channel == null) return; // nothing was locked (acquireIn without its lock directory)
        try {
            if (lock != null && lock.isValid()) channel.truncate(0);
        } catch (IOException e) {
            // the pid stays; a later holder overwrites it, and a refused agent names only a live process
        }
        closeQuietly(channel); // releases the lock
        HELD.remove(file);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // the descriptor is gone either way, and the lock with it
        }
    }
}
