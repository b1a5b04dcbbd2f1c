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

    /**
     * Random changes written as changes (what the endpoint manager gives once it has synced) leave the map exactly as
     * a whole sync would, after every step, across a failed-looking start (the first call after open, when what the
     * map holds is not known, syncs the whole list) and a reload of the pins.
     */
    @Test
    void changesLeaveTheMapAsAWholeSyncWould() throws Exception {
        java.util.Random rnd = new java.util.Random(11);
        EbpfDatapath dp = open();
        Map<String, IpcacheEntry> state = new TreeMap<>();
        state.put("10.9.0.0/16", entry("10.9.0.0/16", 299));
        // the first call knows nothing of the map: it syncs the whole list, whatever the changes say
        dp.syncIpcacheChanges(List.copyOf(state.values()), List.of(), List.of());
        assertEquals(Map.of("10.9.0.0/16", 299L), inMap(dp));
        for (int step = 0; step < 200; step++) {
            if (step == 100) {
                dp.close();
                dp = open(); // a new process on the same pins
            }
            Map<String, IpcacheEntry> before = new TreeMap<>(state);
            String prefix = "10.1.0." + rnd.nextInt(30) + "/32";
            if (rnd.nextInt(3) == 0) state.remove(prefix);
            else state.put(prefix, entry(prefix, 300 + rnd.nextInt(3)));
            List<IpcacheEntry> upserted = new ArrayList<>();
            List<String> removed = new ArrayList<>();
            for (IpcacheEntry e : state.values()) if (!e.equals(before.get(e.prefix()))) upserted.add(e);
            for (String p : before.keySet()) if (!state.containsKey(p)) removed.add(p);
            dp.syncIpcacheChanges(List.copyOf(state.values()), upserted, removed);
            Map<String, Long> want = new TreeMap<>();
            state.values().forEach(e -> want.put(e.prefix(), e.identity()));
            assertEquals(want, inMap(dp), "step " + step);
        }
    }
}
