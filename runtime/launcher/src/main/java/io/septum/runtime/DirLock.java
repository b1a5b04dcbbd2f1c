package io.septum.runtime;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
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
    /** The lock files this process holds (real paths, or in a lock folder its path once checked). */
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
        try {
            return lock(file, dir, what, option);
        } catch (IOException e) {
            throw new Launcher.LaunchException("cannot lock " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The lock of a directory that cannot hold a file of its own (a BPF pin directory: bpffs holds pins only): a file
     * named after the directory ({@link #lockName}) in {@code lockDir}, a folder that every agent of the host sees and
     * that is made when missing (mode 0755). The folder must be this process's user's own and writable by no other
     * (in {@code /run/lock}, which anyone may write, another user could have made it, or left a link in it), and the
     * folders above it root's or its own, writable by others only when sticky. Where it cannot be made, is not such
     * a folder, or its file cannot be opened, the agent runs without this lock, and says so: it guards against a
     * mistake, and the agent's own directories are locked all the same.
     */
    static DirLock acquireIn(Path lockDir, Path dir, String what, String option) throws Launcher.LaunchException {
        String unlocked = ": a second agent on the " + what + " " + dir + " would not be refused";
        Path folder = lockDir.toAbsolutePath().normalize();
        Path file = folder.resolve(lockName(dir));
        try {
            int self = uid();
            if (folder.getParent() != null) {
                // the folders above it, as they are reached: none of them may be changed by another user
                folder = folder.getParent().toRealPath().resolve(folder.getFileName());
                file = folder.resolve(lockName(dir));
                String above = untrustedAbove(folder.getParent(), self);
                if (above != null) {
                    LOG.warning(above + unlocked);
                    return new DirLock(file, null, null);
                }
            }
            String untrusted = untrusted(folder, self);
            if (untrusted != null) {
                LOG.warning(folder + " " + untrusted + unlocked);
                return new DirLock(file, null, null);
            }
            return lock(file, dir, what, option);
        } catch (IOException | SecurityException e) {
            LOG.warning("cannot lock " + file + " (" + describe(e) + ")" + unlocked);
            return new DirLock(file, null, null);
        }
    }

    /**
     * The process's effective user: the owner of its {@code /proc/self} directory, which the kernel keeps as the
     * process's user also when it is not dumpable (the files in it are root's then).
     */
    private static int uid() throws IOException {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException e) {
            throw new IOException("this process's user is unknown without /proc: " + describe(e), e);
        }
    }

    /**
     * Why {@code folder} (made when missing) may not hold lock files, or null when it may: it must be a directory,
     * not a link, of this process's user ({@code self}), which no other user may write.
     */
    private static String untrusted(Path folder, int self) throws IOException {
        if (!Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) {
            if (Files.exists(folder, LinkOption.NOFOLLOW_LINKS)) return "is not a directory (a link or a file)";
            Files.createDirectories(folder, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        }
        int owner = (Integer) Files.getAttribute(folder, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) Files.getAttribute(folder, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if (owner != self) return "belongs to uid " + owner + ", not to this agent's user (uid " + self + ")";
        if ((mode & 022) != 0) return "may be written by others (mode " + Integer.toOctalString(mode & 07777) + ")";
        return null;
    }

    /**
     * Why a folder from {@code dir} (a real path) up to the root would let another user replace what is below it, or
     * null: each must belong to root or to {@code self}, and any that others may write must be sticky (as
     * {@code /run/lock} is, where no user may rename or remove another's entries).
     */
    private static String untrustedAbove(Path dir, int self) throws IOException {
        for (Path d = dir; d != null; d = d.getParent()) {
            int owner = (Integer) Files.getAttribute(d, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) Files.getAttribute(d, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            if (owner != 0 && owner != self) return d + " belongs to uid " + owner + ", another user";
            if ((mode & 022) != 0 && (mode & 01000) == 0) {
                return d + " may be written by others and is not sticky (mode " + Integer.toOctalString(mode & 07777) + ")";
            }
        }
        return null;
    }

    private static String describe(Exception e) {
        return e instanceof java.nio.file.AccessDeniedException ? "permission denied"
                : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /**
     * The name of {@code dir}'s lock file in a shared lock directory: its real path, URL-encoded (or its SHA-256 when
     * that would be too long a name). For a directory not made yet, the real path of its nearest ancestor that
     * exists with the rest of its names, so that the name does not change when the agent makes it, and two spellings
     * of one directory (through a link) share a lock.
     */
    static String lockName(Path dir) {
        Path key = canonical(dir);
        String name = URLEncoder.encode(key.toString(), StandardCharsets.UTF_8);
        if (name.length() <= 200) return name + ".lock";
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(key.toString().getBytes(StandardCharsets.UTF_8));
            return "sha256-" + HexFormat.of().formatHex(h) + ".lock";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }

    /** {@code dir}'s real path, or its nearest existing ancestor's followed by the names that do not exist yet. */
    static Path canonical(Path dir) {
        Path existing = dir.toAbsolutePath(); // not normalized: "link/.." is the link's parent, as the kernel reads it
        java.util.Deque<Path> rest = new java.util.ArrayDeque<>();
        while (existing.getParent() != null && !Files.exists(existing)) {
            rest.push(existing.getFileName());
            existing = existing.getParent();
        }
        Path real;
        try {
            real = existing.toRealPath();
        } catch (IOException e) {
            real = existing; // not readable: as given
        }
        for (Path name : rest) real = real.resolve(name);
        return real.normalize(); // what is appended does not exist, so holds no link that ".." could cross
    }

    /**
     * Locks {@code file} (made when missing, never through a link) and writes this process's pid into it, or refuses,
     * naming the holder. A file system without record locks gives an unlocked {@link DirLock}, and a warning.
     */
    private static DirLock lock(Path file, Path dir, String what, String option) throws IOException, Launcher.LaunchException {
        if (!HELD.add(file)) throw refused(dir, file, what, option, Long.toString(ProcessHandle.current().pid()));
        FileChannel ch = null;
        boolean kept = false;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (java.nio.channels.ClosedChannelException e) {
                throw e; // interrupted: the start is being stopped, not a file system without locks
            } catch (IOException e) {
                // a file system without record locks (ENOLCK): run as before there was a lock, and say so
                LOG.warning("cannot lock " + file + " (" + e.getMessage() + "): a second agent on the " + what
                        + " would not be refused");
                kept = true;
                return new DirLock(file, ch, null);
            }
            if (lock == null) throw refused(dir, file, what, option, holder(ch));
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            kept = true;
            return new DirLock(file, ch, lock);
        } finally {
            if (!kept) {
                if (ch != null) closeQuietly(ch);
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
        if (channel == null) return; // nothing was locked (acquireIn without a folder it could trust)
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
