package io.septum.datapath.ebpf.internal;

import io.septum.api.IpcacheEntry;
import io.septum.api.datapath.DatapathException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jnr.ffi.Runtime;

/**
 * Writes the pinned ipcache map, diffing against what it last wrote rather than reading the map back: only this
 * agent writes its pinned ipcache, and with 10,000 remote entries in cluster mode that read was 20,000 syscalls per
 * sync (scripts/bench-cluster.sh). A whole list is diffed against what was written; changes (when the caller knows
 * them) are written as they are, so a change among ten thousand entries costs one entry. Not thread-safe: the
 * datapath's lock guards it.
 */
final class IpcacheWriter {
    private final Runtime runtime;
    /**
     * The map's content as last written, or null when that is not known: before the first sync after a load (the
     * pins may hold a previous run's entries) and after a failed sync.
     */
    private Map<Bytes, byte[]> written;
    /** Prefix (as the map reads back) to the source it was written for, for views. */
    private final Map<String, String> sources = new HashMap<>();

    IpcacheWriter(Runtime runtime) {
        this.runtime = runtime;
    }

    /** The map was (re)loaded: what it holds is not known until the next whole sync. */
    void forget() {
        written = null;
    }

    Map<String, String> sources() {
        return sources;
    }

    /** Makes the map exactly {@code entries} (adds and changes first, removals last). */
    void sync(BpfMap map, List<IpcacheEntry> entries) throws DatapathException {
        Map<Bytes, byte[]> desired = new LinkedHashMap<>();
        Map<String, String> names = new HashMap<>();
        for (IpcacheEntry e : entries) {
            Ips.Prefix p = parse(e.prefix(), e);
            desired.put(key(p), value(e.identity()));
            names.put(Ips.formatPrefix(p.addr(), p.prefixlen()), e.source());
        }
        Map<Bytes, byte[]> current = written != null ? written : map.readAll();
        map.checkRoom(current.size(), desired.keySet().stream().filter(k -> !current.containsKey(k)).count(), "the ipcache");
        written = null; // unknown until this sync has succeeded or been rolled back
        MapTransaction undo = new MapTransaction();
        try {
            putChanged(undo, map, desired, current);
            for (Bytes k : current.keySet()) {
                if (!desired.containsKey(k)) undo.delete(map, k.b(), current.get(k), "stale ipcache entry");
            }
        } catch (DatapathException e) {
            undo.rollback();
            throw e;
        }
        written = desired;
        sources.clear();
        sources.putAll(names);
    }

    /**
     * Writes {@code upserted} and deletes {@code removed} (prefixes), the changes from the last successful sync to
     * {@code entries}; when what was written is not known, syncs {@code entries} whole instead.
     */
    void apply(BpfMap map, List<IpcacheEntry> entries, List<IpcacheEntry> upserted, List<String> removed)
            throws DatapathException {
        if (written == null) {
            sync(map, entries);
            return;
        }
        Map<Bytes, byte[]> puts = new LinkedHashMap<>();
        Map<Bytes, IpcacheEntry> putNames = new HashMap<>();
        Map<Bytes, String> deletes = new LinkedHashMap<>();
        for (IpcacheEntry e : upserted) {
            Ips.Prefix p = parse(e.prefix(), e);
            Bytes k = key(p);
            puts.put(k, value(e.identity()));
            // the prefix as the map reads it back: what views look sources up by
            putNames.put(k, new IpcacheEntry(Ips.formatPrefix(p.addr(), p.prefixlen()), e.identity(), e.source()));
        }
        for (String prefix : removed) {
            Ips.Prefix p = parse(prefix, prefix);
            deletes.put(key(p), Ips.formatPrefix(p.addr(), p.prefixlen()));
        }
        map.checkRoom(written.size(), puts.keySet().stream().filter(k -> !written.containsKey(k)).count(), "the ipcache");
        MapTransaction undo = new MapTransaction();
        try {
            putChanged(undo, map, puts, written);
            for (Bytes k : deletes.keySet()) {
                byte[] cur = written.get(k);
                if (cur != null && !puts.containsKey(k)) undo.delete(map, k.b(), cur, "stale ipcache entry");
            }
        } catch (DatapathException e) {
            undo.rollback();
            written = null;
            throw e;
        }
        for (Map.Entry<Bytes, String> d : deletes.entrySet()) {
            if (puts.containsKey(d.getKey())) continue;
            written.remove(d.getKey());
            sources.remove(d.getValue());
        }
        for (Map.Entry<Bytes, byte[]> e : puts.entrySet()) {
            written.put(e.getKey(), e.getValue());
            IpcacheEntry n = putNames.get(e.getKey());
            sources.put(n.prefix(), n.source());
        }
    }

    /** Writes each of {@code puts} whose value differs from what {@code current} says the map holds. */
    private static void putChanged(MapTransaction undo, BpfMap map, Map<Bytes, byte[]> puts, Map<Bytes, byte[]> current)
            throws DatapathException {
        for (Map.Entry<Bytes, byte[]> e : puts.entrySet()) {
            byte[] cur = current.get(e.getKey());
            if (cur == null || !Arrays.equals(cur, e.getValue())) undo.put(map, e.getKey().b(), e.getValue(), cur, "ipcache entry");
        }
    }

    private static Ips.Prefix parse(String prefix, Object what) throws DatapathException {
        try {
            return Ips.parsePrefix(prefix);
        } catch (IllegalArgumentException ex) {
            throw new DatapathException("ipcache entry " + what + ": " + ex.getMessage(), ex);
        }
    }

    private Bytes key(Ips.Prefix p) {
        Structs.IpcacheKey k = Structs.zeroed(new Structs.IpcacheKey(runtime));
        k.prefixlen.set(p.prefixlen());
        for (int i = 0; i < 16; i++) k.addr[i].set(p.addr()[i] & 0xff);
        return new Bytes(k.bytes());
    }

    private byte[] value(long identity) {
        Structs.IpcacheValue v = Structs.zeroed(new Structs.IpcacheValue(runtime));
        v.identity.set(identity);
        return v.bytes();
    }
}
