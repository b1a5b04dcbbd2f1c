package io.septum.endpoints.internal;

import io.septum.api.IpcacheEntry;
import java.util.ArrayList;
import java.util.List;

/**
 * What differs between two ipcaches as passes build them (sorted by prefix, one entry per prefix): the entries added
 * or changed and the prefixes gone, found in one ordered walk, so that the datapath writes those instead of going
 * over every entry. Entries a pass keeps are mostly the same objects as the pass before's, so the walk is cheap.
 */
record IpcacheDiff(List<IpcacheEntry> upserted, List<String> removed) {
    /** The changes from {@code before} to {@code after}; null when either is not sorted by prefix without repeats. */
    static IpcacheDiff of(List<IpcacheEntry> before, List<IpcacheEntry> after) {
        List<IpcacheEntry> upserted = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        int i = 0, j = 0;
        String lastBefore = null, lastAfter = null;
        while (i < before.size() || j < after.size()) {
            IpcacheEntry b = i < before.size() ? before.get(i) : null, a = j < after.size() ? after.get(j) : null;
            int c = b == null ? 1 : a == null ? -1 : b.prefix().compareTo(a.prefix());
            if (c <= 0) {
                if (lastBefore != null && lastBefore.compareTo(b.prefix()) >= 0) return null;
                lastBefore = b.prefix();
                i++;
            }
            if (c >= 0) {
                if (lastAfter != null && lastAfter.compareTo(a.prefix()) >= 0) return null;
                lastAfter = a.prefix();
                j++;
            }
            if (c < 0) removed.add(b.prefix());
            else if (c > 0 || !a.equals(b)) upserted.add(a);
        }
        return new IpcacheDiff(upserted, removed);
    }

    boolean isEmpty() {
        return upserted.isEmpty() && removed.isEmpty();
    }
}
