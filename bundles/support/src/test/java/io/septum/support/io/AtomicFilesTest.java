package io.septum.support.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AtomicFilesTest {
    @TempDir
    Path dir;

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private List<String> names() throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void createsAndReplacesLeavingNoTemporaryFile() throws IOException {
        Path f = dir.resolve("state.json");
        AtomicFiles.write(f, utf8("one"), AtomicFiles.OWNER_ONLY);
        assertEquals("one", Files.readString(f));
        AtomicFiles.write(f, utf8("two, longer"), AtomicFiles.OWNER_ONLY);
        assertEquals("two, longer", Files.readString(f));
        AtomicFiles.write(f, new byte[0], AtomicFiles.OWNER_ONLY);
        assertArrayEquals(new byte[0], Files.readAllBytes(f));
        assertEquals(List.of("state.json"), names());
    }

    @Test
    void setsTheRequestedPermissionsWhateverTheOldFileHad() throws IOException {
        Path secret = dir.resolve("identities.json");
        Files.writeString(secret, "old");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-rw-rw-"));
        AtomicFiles.write(secret, utf8("new"), AtomicFiles.OWNER_ONLY);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(secret)));

        Path hosts = dir.resolve("hosts");
        AtomicFiles.write(hosts, utf8("127.0.0.1 localhost\n"), AtomicFiles.WORLD_READABLE);
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(hosts)));
    }

    @Test
    void replacesATemporaryFileLeftByACrash() throws IOException {
        Path f = dir.resolve("endpoints.json");
        Path stale = AtomicFiles.temporaryFor(f);
        Files.writeString(stale, "half a docum");
        AtomicFiles.write(f, utf8("{}"), AtomicFiles.OWNER_ONLY);
        assertEquals("{}", Files.readString(f));
        assertFalse(Files.exists(stale));
    }

    @Test
    void doesNotFollowALinkPlantedAtTheTemporaryName() throws IOException {
        Path f = dir.resolve("policies.json");
        Path victim = dir.resolve("victim");
        Files.writeString(victim, "keep");
        Files.createSymbolicLink(AtomicFiles.temporaryFor(f), victim);
        AtomicFiles.write(f, utf8("{}"), AtomicFiles.WORLD_READABLE);
        assertEquals("keep", Files.readString(victim));
        assertEquals("{}", Files.readString(f));
        assertFalse(Files.isSymbolicLink(f));
    }

    @Test
    void failureLeavesTheTargetAndRemovesTheTemporaryFile() throws IOException {
        // A non-empty directory at the target makes the rename fail after the temporary file is written.
        Path f = dir.resolve("services.json");
        Files.createDirectory(f);
        Files.writeString(f.resolve("inside"), "x");
        assertThrows(IOException.class, () -> AtomicFiles.write(f, utf8("{}"), AtomicFiles.WORLD_READABLE));
        assertTrue(Files.isDirectory(f));
        assertFalse(Files.exists(AtomicFiles.temporaryFor(f)));
        assertEquals(List.of("services.json"), names());
    }

    @Test
    void missingDirectoryIsAnError() {
        Path f = dir.resolve("absent/state.json");
        assertThrows(IOException.class, () -> AtomicFiles.write(f, utf8("{}"), AtomicFiles.OWNER_ONLY));
    }

    @Test
    void concurrentWritersOfOneFileDoNotShareTheTemporaryFile() throws Exception {
        Path f = dir.resolve("busy.json");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> all = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                String body = ("writer " + t + " ").repeat(2000);
                all.add(pool.submit(() -> {
                    for (int i = 0; i < 25; i++) AtomicFiles.write(f, utf8(body), AtomicFiles.OWNER_ONLY);
                    return null;
                }));
            }
            for (Future<?> x : all) x.get();
        } finally {
            pool.shutdownNow();
        }
        String content = Files.readString(f);
        boolean oneWriters = false;
        for (int t = 0; t < 4; t++) oneWriters |= content.equals(("writer " + t + " ").repeat(2000));
        assertTrue(oneWriters, "the file is one writer's complete content");
        assertEquals(List.of("busy.json"), names());
    }

    @Test
    void syncingADirectoryThatCannotBeSyncedIsTolerated() {
        AtomicFiles.syncDirectory(dir.resolve("does-not-exist"));
        AtomicFiles.syncDirectory(dir);
    }
}
