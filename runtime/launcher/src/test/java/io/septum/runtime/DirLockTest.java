package io.septum.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lock of a directory kept elsewhere (the BPF pin directory's): its name, its refusal, a lock directory missing. */
class DirLockTest {
    @TempDir
    Path tmp;

    @Test
    void aDirectoryHasOneLockNameHoweverItIsSpelled() throws Exception {
        Path pins = Files.createDirectories(tmp.resolve("bpf").resolve("septum"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), pins);
        String name = DirLock.lockName(pins);
        assertEquals(name, DirLock.lockName(tmp.resolve("bpf/./x/../septum")));
        assertEquals(name, DirLock.lockName(link));
        assertEquals(java.net.URLEncoder.encode(pins.toRealPath().toString(), java.nio.charset.StandardCharsets.UTF_8)
                + ".lock", name);
        assertTrue(!name.contains("/"), name);
        assertNotEquals(name, DirLock.lockName(tmp.resolve("bpf").resolve("septum2")), "another directory, another lock");
        // one not made yet keeps its path; a path too long for a file name is hashed
        assertEquals(DirLock.lockName(tmp.resolve("later")), DirLock.lockName(tmp.resolve("later/.")));
        String longName = DirLock.lockName(tmp.resolve("d".repeat(240)));
        assertTrue(longName.matches("sha256-[0-9a-f]{64}\\.lock"), longName);
    }

    @Test
    void aSecondHolderIsRefusedNamingTheDirectoryAndItsLockFile() throws Exception {
        Path locks = tmp.resolve("locks");
        Path pins = tmp.resolve("pins");
        try (DirLock first = DirLock.acquireIn(locks, pins, "BPF pin directory", "--bpf-dir")) {
            Path file = locks.resolve(DirLock.lockName(pins));
            assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(file));
            Launcher.LaunchException e = assertThrows(Launcher.LaunchException.class,
                    () -> DirLock.acquireIn(locks, tmp.resolve("pins/."), "BPF pin directory", "--bpf-dir"));
            assertEquals("another Septum agent (pid " + ProcessHandle.current().pid() + ") is using the BPF pin directory "
                    + tmp.resolve("pins/.") + " (" + file + " is locked): stop it first, or give this one another --bpf-dir",
                    e.getMessage());
        }
        try (DirLock again = DirLock.acquireIn(locks, pins, "BPF pin directory", "--bpf-dir")) {
            assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(locks.resolve(DirLock.lockName(pins))));
        }
    }

    @Test
    void withoutItsLockDirectoryTheAgentRunsUnlocked() throws Exception {
        Path notADirectory = Files.writeString(tmp.resolve("file"), "x");
        try (DirLock none = DirLock.acquireIn(notADirectory.resolve("locks"), tmp.resolve("pins"), "BPF pin directory",
                "--bpf-dir")) {
            // and a second one is not refused: there is nothing to hold
            DirLock.acquireIn(notADirectory.resolve("locks"), tmp.resolve("pins"), "BPF pin directory", "--bpf-dir").close();
        }
        assertEquals("x", Files.readString(notADirectory));
    }
}
