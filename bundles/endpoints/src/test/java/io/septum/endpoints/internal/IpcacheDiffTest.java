package io.septum.endpoints.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.septum.api.IpcacheEntry;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The changes between two ipcaches, applied to the first, give the second; unsorted input is not diffed. */
class IpcacheDiffTest {
    @Test
    void theChangesTakeTheOldIpcacheToTheNewOne() {
        Random rnd = new Random(7);
        Map<String, IpcacheEntry> state = new TreeMap<>();
        List<IpcacheEntry> before = List.of();
        for (int step = 0; step < 3000; step++) {
            for (int k = rnd.nextInt(4); k >= 0; k--) {
                String prefix = "10.0." + rnd.nextInt(3) + "." + rnd.nextInt(20) + "/32";
                if (rnd.nextInt(3) == 0) state.remove(prefix);
                else state.put(prefix, new IpcacheEntry(prefix, 256 + rnd.nextInt(3), "kvstore:n" + rnd.nextInt(2)));
            }
            List<IpcacheEntry> after = List.copyOf(state.values());
            IpcacheDiff d = IpcacheDiff.of(before, after);
            Map<String, IpcacheEntry> applied = new TreeMap<>();
            before.forEach(e -> applied.put(e.prefix(), e));
            d.removed().forEach(applied::remove);
            d.upserted().forEach(e -> applied.put(e.prefix(), e));
            assertEquals(after, List.copyOf(applied.values()), "step " + step);
            for (IpcacheEntry e : d.upserted()) assertEquals(false, before.contains(e), "only what changed: " + e);
            before = after;
        }
    }

    @Test
    void unsortedOrRepeatedPrefixesAreNotDiffed() {
        IpcacheEntry a = new IpcacheEntry("10.0.0.1/32", 256, "x"), b = new IpcacheEntry("10.0.0.2/32", 256, "x");
        assertNull(IpcacheDiff.of(List.of(b, a), List.of(a)));
        assertNull(IpcacheDiff.of(List.of(a), List.of(a, a)));
        assertEquals(new IpcacheDiff(List.of(b), List.of()), IpcacheDiff.of(List.of(a), List.of(a, b)));
    }
}
