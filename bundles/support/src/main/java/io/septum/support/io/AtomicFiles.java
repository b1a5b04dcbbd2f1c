package io.septum.support.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Replaces a file so that, whatever happens (exception, {@code kill -9}, power loss), the path holds either the old
 * content or the new content, complete, and never an empty or partial file.
 *
 * <p>The steps: write the content to a temporary file in the same directory ({@code .<name>.tmp}), with the requested
 * permissions set before the first byte is written; {@link FileChannel#force(boolean) fsync} it; rename it over the
 * target ({@code ATOMIC_MOVE}, {@code REPLACE_EXISTING}); then fsync the directory so that the rename itself survives
 * a power loss. Without the first fsync, a crash right after the rename can leave a zero-length file (ext4, xfs);
 * without the second, the old file can come back.
 *
 * <p>The temporary file has a fixed name per target, so a crash between create and rename leaves at most one, which
 * the next write replaces. Writes to the same target from one JVM are serialised here; two processes writing the
 * same file are not supported (the state directory belongs to one agent).
 *
 * <p>This package is embedded privately by each bundle that uses it ({@code -conditionalpackage}); it is not an API
 * and is never imported between bundles.
 */
public final class AtomicFiles {
    /** {@code rw-------}: state that only the agent reads (identities, endpoints). */
    public static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    /** {@code rw-r--r--}: files other processes read (hosts files, policy and service state). */
    public static final Set<PosixFilePermission> WORLD_READABLE = PosixFilePermissions.fromString("rw-r--r--");

    private static final System.Logger LOG = System.getLogger(AtomicFiles.class.getName());
    /** Striped locks: two writers of one path in this JVM must not share the temporary file. */
    private static final Object[] LOCKS = new Object[32];

    static {
        for (int i = 0; i < LOCKS.length; i++) LOCKS[i] = new Object();
    }

    private AtomicFiles() {
    }

    /** The temporary file {@link #write} uses for {@code file}: hidden, next to it. */
    public static Path temporaryFor(Path file) {
        return file.resolveSibling("." + file.getFileName() + ".tmp");
    }

    /**
     * Replaces {@code file} with {@code content}, atomically and durably, and leaves it with exactly
     * {@code permissions} (ignored on file systems without POSIX permissions). The directory must exist. On failure
     * the temporary file is removed and {@code file} is untouched.
     */
    public static void write(Path file, byte[] content, Set<PosixFilePermission> permissions) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Path tmp = temporaryFor(target);
        boolean posix = target.getFileSystem().supportedFileAttributeViews().contains("posix");
        synchronized (LOCKS[Math.floorMod(target.normalize().hashCode(), LOCKS.length)]) {
            boolean renamed = false;
            try {
                // Left by a crash of an earlier write; removing it (rather than truncating) also means a symbolic
                // link planted there is never followed.
                Files.deleteIfExists(tmp);
                FileAttribute<?>[] attrs = posix
                        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)}
                        : new FileAttribute<?>[0];
                try (FileChannel ch = FileChannel.open(tmp,
                        Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attrs)) {
                    // The mode given to open() is narrowed by the umask; set it exactly, before any content.
                    if (posix) Files.setPosixFilePermissions(tmp, permissions);
                    ByteBuffer buf = ByteBuffer.wrap(content);
                    while (buf.hasRemaining()) ch.write(buf);
                    ch.force(true);
                }
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    throw new IOException("the directory " + dir + " does not support atomic rename", e);
                }
                renamed = true;
            } catch (FileAlreadyExistsException e) {
                throw new IOException("cannot create " + tmp + ": it reappeared while writing " + target, e);
            } finally {
                if (!renamed) {
                    try {
                        Files.deleteIfExists(tmp);
                    } catch (IOException cleanup) {
                        LOG.log(System.Logger.Level.WARNING, "cannot remove " + tmp + ": " + cleanup.getMessage());
                    }
                }
            }
            syncDirectory(dir);
        }
    }

    /**
     * fsyncs a directory, so that renames and creations in it are on disk. Some file systems (and other operating
     * systems) refuse to open or sync a directory; that is tolerated, since the rename has happened either way.
     */
    public static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "cannot fsync directory " + dir + ": " + e);
        }
    }
}
