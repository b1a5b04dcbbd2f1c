package io.septum.source.cgroup.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.testsupport.Await;
import io.septum.testsupport.RecordingSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The source's scan loop on a plain directory tree standing in for the cgroup v2 mount (its inodes are the ids). */
class CgroupSourceTest {
    @TempDir
    Path root;

    private CgroupSource source;
    private final RecordingSink sink = RecordingSink.withoutNamespaces("cgroup");

    @AfterEach
    void close() {
        if (source != null) source.close();
    }

    private void open() {
        source = new CgroupSource(Map.of("cgroupRoot", root.toString(), "scanIntervalSeconds", "1",
                "rule.web.path", "sept/*", "rule.web.labels", "app=web"));
        source.open(sink);
    }

    @Test
    void reportsWhatChangedAndResyncsEveryScan() throws Exception {
        Files.createDirectories(root.resolve("sept/a"));
        open();
        assertThrows(IllegalStateException.class, () -> source.open(sink), "open twice");
        await("a reported", () -> sink.upserted("sept/a") == 1 && sink.lastResync().equals(List.of("sept/a")));
        assertTrue(source.health().message().startsWith("1 endpoints from 1 rule(s) under "), source.health().message());

        Files.createDirectories(root.resolve("sept/b"));
        await("b reported", () -> sink.upserted("sept/b") == 1
                && sink.lastResync().stream().sorted().toList().equals(List.of("sept/a", "sept/b")));
        int resyncs = sink.resyncs().size();
        await("another scan", () -> sink.resyncs().size() > resyncs + 1);
        assertEquals(1, sink.upserted("sept/a"), "an unchanged cgroup is not reported again");

        // The same path with a new directory is a new cgroup: the old endpoint goes before the new one comes.
        long before = (Long) Files.getAttribute(root.resolve("sept/a"), "unix:ino");
        Files.delete(root.resolve("sept/a"));
        Files.createDirectories(root.resolve("x/y")); // so that the freed inode is not the one sept/a gets again
        Files.createDirectories(root.resolve("sept/a"));
        long after = (Long) Files.getAttribute(root.resolve("sept/a"), "unix:ino");
        if (after != before) { // else it is the same cgroup as far as ids tell, and rightly nothing is reported
            await("a replaced", () -> sink.upserted("sept/a") == 2);
            assertTrue(sink.calls().indexOf("remove sept/a") < sink.calls().lastIndexOf("upsert sept/a"),
                    sink.calls().toString());
        }

        Files.delete(root.resolve("sept/b"));
        await("b removed", () -> sink.calls().contains("remove sept/b") && !sink.lastResync().contains("sept/b"));
    }

    @Test
    void nothingIsReportedAfterClose() throws Exception {
        open();
        await("first scan", () -> sink.resyncs().size() > 0);
        source.close();
        int events = sink.calls().size();
        Files.createDirectories(root.resolve("sept/late"));
        source.close(); // twice is harmless
        // Open, a scan would have come within a second (inotify, or the periodic one): give it two.
        long end = System.nanoTime() + 2_000_000_000L;
        while (System.nanoTime() < end) {
            assertEquals(events, sink.calls().size(), "reported after close: " + sink.calls());
            Thread.sleep(50);
        }
        assertFalse(sink.calls().contains("upsert sept/late"));
    }

    private static void await(String what, BooleanSupplier done) throws InterruptedException {
        Await.until(what, Duration.ofSeconds(10), done);
    }
}
