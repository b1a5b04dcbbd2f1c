package io.septum.datapath.ebpf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.septum.api.IpcacheEntry;
import io.septum.testsupport.RequiresRoot;
import io.septum.testsupport.TestFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The ipcache map after a sequence of syncs, read back from the kernel: a sync diffs against what the datapath last
 * wrote (not the map), so these check that the map still ends up exactly as asked, across a reload of the pins.
 */
@RequiresRoot("bpffs")
class IpcacheMapTest {
    private final Path pinDir = Path.of("/sys/fs/bpf/sept-t" + Integer.toHexString(ThreadLocalRandom.current().nextInt()) + "ipc");
    private final List<EbpfDatapath> opened = new ArrayList<>();

    private EbpfDatapath open() throws Exception {
        EbpfDatapath dp = new EbpfDatapath(pinDir, EbpfDatapath.bundledObject(), e -> { });
        opened.add(dp);
        dp.open();
        return dp;
    }

    @AfterEach
    void tearDown() throws Exception {
        opened.forEach(EbpfDatapath::close);
        TestFiles.deleteTree(pinDir);
    }

    private static IpcacheEntry entry(String prefix, long identity) {
        return new IpcacheEntry(prefix, identity, "test");
    }

    /** The map's content as prefix to identity. */
    private static Map<String, Long> inMap(EbpfDatapath dp) {
        Map<String, Long> out = new TreeMap<>();
        for (IpcacheEntry e : dp.ipcache()) out.put(e.prefix(), e.identity());
        return out;
    }

    @Test
    void successiveSyncsLeaveExactlyTheLastList() throws Exception {
        EbpfDatapath dp = open();
        dp.syncIpcache(List.of(entry("10.1.0.1/32", 300), entry("10.1.0.2/32", 301), entry("10.2.0.0/16", 302)));
        assertEquals(Map.of("10.1.0.1/32", 300L, "10.1.0.2/32", 301L, "10.2.0.0/16", 302L), inMap(dp));
        // one kept, one changed, one gone, one new
        dp.syncIpcache(List.of(entry("10.1.0.1/32", 300), entry("10.1.0.2/32", 401), entry("10.1.0.3/32", 303)));
        assertEquals(Map.of("10.1.0.1/32", 300L, "10.1.0.2/32", 401L, "10.1.0.3/32", 303L), inMap(dp));
        dp.syncIpcache(List.of());
        assertEquals(Map.of(), inMap(dp));
    }

    @Test
    void theFirstSyncAfterAReloadRemovesWhatThePinsStillHeld() throws Exception {
        EbpfDatapath first = open();
        first.syncIpcache(List.of(entry("10.1.0.1/32", 300), entry("10.1.0.2/32", 301)));
        first.close();
        // a new agent process on the same pins: it never wrote these entries, and must still drop the stale one
        EbpfDatapath second = open();
        assertEquals(Map.of("10.1.0.1/32", 300L, "10.1.0.2/32", 301L), inMap(second));
        second.syncIpcache(List.of(entry("10.1.0.2/32", 301), entry("10.1.0.4/32", 304)));
        assertEquals(Map.of("10.1.0.2/32", 301L, "10.1.0.4/32", 304L), inMap(second));
    }
}
