package io.septum.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lock of a directory kept elsewhere (the BPF pin directory's): its name, its refusal, a folder it cannot trust. */
class DirLockTest {
    private static final String WHAT = "BPF pin directory";

    @TempDir
    Path tmp;
    private final List<String> warnings = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            warnings.add(r.getMessage());
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void listen() {
        Logger.getLogger(DirLock.class.getName()).addHandler(capture);
    }

    @AfterEach
    void stopListening() {
        Logger.getLogger(DirLock.class.getName()).removeHandler(capture);
    }

    @Test
    void aDirectoryHasOneLockNameHoweverItIsSpelled() throws Exception {
        Path pins = Files.createDirectories(tmp.resolve("bpf").resolve("septum"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), pins);
        String name = DirLock.lockName(pins);
        assertEquals(URLEncoder.encode(pins.toRealPath().toString(), StandardCharsets.UTF_8) + ".lock", name);
        assertTrue(!name.contains("/"), name);
        assertEquals(name, DirLock.lockName(tmp.resolve("bpf/./x/../septum")));
        assertEquals(name, DirLock.lockName(link));
        assertNotEquals(name, DirLock.lockName(tmp.resolve("bpf").resolve("septum2")), "another directory, another lock");
        String longName = DirLock.lockName(tmp.resolve("d".repeat(240)));
        assertTrue(longName.matches("sha256-[0-9a-f]{64}\\.lock"), longName);
    }

    /** A directory the agent makes later keeps its name: its existing ancestors are resolved, links included. */
    @Test
    void aDirectoryNotMadeYetHasTheNameItWillHave() throws Exception {
        Path bpf = Files.createDirectories(tmp.resolve("bpf"));
        Path link = Files.createSymbolicLink(tmp.resolve("mount"), bpf);
        String before = DirLock.lockName(link.resolve("septum"));
        String other = DirLock.lockName(link.resolve("a/../septum")); // "a" does not exist: read as text
        Files.createDirectories(bpf.resolve("septum"));
        assertEquals(before, DirLock.lockName(link.resolve("septum")), "the same once made");
        assertEquals(before, DirLock.lockName(bpf.resolve("septum")), "the same by its real path");
        assertEquals(before, other);
        // ".." after a link is the link target's parent, as the kernel reads it
        Path deep = Files.createDirectories(tmp.resolve("x/y"));
        Files.createSymbolicLink(tmp.resolve("toY"), deep);
        assertEquals(DirLock.lockName(tmp.resolve("x/pins")), DirLock.lockName(tmp.resolve("toY/../pins")));
    }

    @Test
    void aSecondHolderIsRefusedNamingTheDirectoryAndItsLockFile() throws Exception {
        Path locks = tmp.resolve("locks");
        Path pins = tmp.resolve("pins");
        try (DirLock first = DirLock.acquireIn(locks, pins, WHAT, "--bpf-dir")) {
            Path file = locks.resolve(DirLock.lockName(pins));
            assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(file));
            assertEquals(0, (Integer) Files.getAttribute(locks, "unix:mode") & 022, "the folder it made is its own to write");
            Launcher.LaunchException e = assertThrows(Launcher.LaunchException.class,
                    () -> DirLock.acquireIn(locks, tmp.resolve("pins/."), WHAT, "--bpf-dir"));
            assertEquals("another Septum agent (pid " + ProcessHandle.current().pid() + ") is using the BPF pin directory "
                    + tmp.resolve("pins/.") + " (" + file + " is locked): stop it first, or give this one another --bpf-dir",
                    e.getMessage());
        }
        try (DirLock again = DirLock.acquireIn(locks, pins, WHAT, "--bpf-dir")) {
            assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(locks.resolve(DirLock.lockName(pins))));
        }
        assertEquals(List.of(), warnings);
    }

    @Test
    void aFolderThatCannotBeMadeLeavesTheAgentUnlockedAndSaysSo() throws Exception {
        Path notADirectory = Files.writeString(tmp.resolve("file"), "x");
        try (DirLock none = DirLock.acquireIn(notADirectory.resolve("locks"), tmp.resolve("pins"), WHAT, "--bpf-dir")) {
            // and a second one is not refused: there is nothing to hold
            DirLock.acquireIn(notADirectory.resolve("locks"), tmp.resolve("pins"), WHAT, "--bpf-dir").close();
        }
        assertEquals("x", Files.readString(notADirectory));
        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).endsWith("a second agent on the BPF pin directory " + tmp.resolve("pins")
                + " would not be refused"), warnings.get(0));
    }

    /** A folder others may write, or a link, is not trusted: nothing is written through it. */
    @Test
    void aFolderOthersMayWriteOrALinkIsNotTrusted() throws Exception {
        Path open = Files.createDirectory(tmp.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxr-x"));
        DirLock.acquireIn(open, tmp.resolve("pins"), WHAT, "--bpf-dir").close();
        assertEquals(0, entries(open), "no file made in it");
        assertTrue(warnings.get(0).startsWith(open + " may be written by others (mode 775)"), warnings.toString());

        Path target = Files.createDirectory(tmp.resolve("target"));
        Path link = Files.createSymbolicLink(tmp.resolve("linked"), target);
        DirLock.acquireIn(link, tmp.resolve("pins"), WHAT, "--bpf-dir").close();
        assertEquals(0, entries(target), "nothing made through the link");
        assertTrue(warnings.get(1).startsWith(link + " is not a directory (a link or a file)"), warnings.toString());
    }

    /** A folder above it that others may write (and not sticky, as /run/lock is) could have it replaced. */
    @Test
    void aFolderAboveThatOthersMayWriteIsNotTrustedEither() throws Exception {
        Path above = Files.createDirectory(tmp.resolve("above"));
        Files.setPosixFilePermissions(above, PosixFilePermissions.fromString("rwxrwxrwx"));
        DirLock.acquireIn(above.resolve("locks"), tmp.resolve("pins"), WHAT, "--bpf-dir").close();
        assertEquals(0, entries(above), "not even the folder is made");
        assertTrue(warnings.get(0).startsWith(above + " may be written by others and is not sticky (mode 777)"),
                warnings.toString());
        // sticky, as /run/lock and /tmp are: no user may replace another's entries, so the folder below is used
        Files.setAttribute(above, "unix:mode", 01777);
        try (DirLock held = DirLock.acquireIn(above.resolve("locks"), tmp.resolve("pins"), WHAT, "--bpf-dir")) {
            assertEquals(1, entries(above.resolve("locks")));
        }
        assertEquals(1, warnings.size(), warnings.toString());
    }

    private static long entries(Path dir) throws java.io.IOException {
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    /** A link planted where the lock file goes is not followed, and a later try (once it is gone) locks. */
    @Test
    void aLinkInPlaceOfTheLockFileIsNotFollowed() throws Exception {
        Path locks = Files.createDirectory(tmp.resolve("locks"));
        Path pins = tmp.resolve("pins");
        Path victim = Files.writeString(tmp.resolve("victim"), "keep me");
        Path planted = Files.createSymbolicLink(locks.resolve(DirLock.lockName(pins)), victim);
        DirLock.acquireIn(locks, pins, WHAT, "--bpf-dir").close();
        assertEquals("keep me", Files.readString(victim));
        assertTrue(warnings.get(0).startsWith("cannot lock " + planted), warnings.toString());

        Files.delete(planted);
        try (DirLock held = DirLock.acquireIn(locks, pins, WHAT, "--bpf-dir")) {
            assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(planted), "not left held by the failed try");
        }
    }

    @Test
    void aFolderOfAnotherUserIsNotTrusted() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0,
                "only root can give a folder to another user");
        Path theirs = Files.createDirectory(tmp.resolve("theirs"));
        try {
            Files.setAttribute(theirs, "unix:uid", 65534);
        } catch (java.io.IOException e) {
            org.junit.jupiter.api.Assumptions.abort("uid 65534 cannot own a file here (a user namespace?): " + e);
        }
        DirLock.acquireIn(theirs, tmp.resolve("pins"), WHAT, "--bpf-dir").close();
        assertEquals(0, entries(theirs));
        assertTrue(warnings.get(0).startsWith(theirs + " belongs to uid 65534, not to this agent's user (uid 0)"),
                warnings.toString());
    }
}
