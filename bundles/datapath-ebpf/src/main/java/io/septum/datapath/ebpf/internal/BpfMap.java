package io.septum.datapath.ebpf.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One loaded map: its fd and the key and value sizes of its Java mirrors, which {@link BpfObjects} checked
 * against the object's own definition at load. Integer results are libbpf's ({@code -errno}).
 */
final class BpfMap {
    /** Bound of a key walk: a hash map restarts from its first key when the previous one was deleted meanwhile. */
    private static final int WALK_GUARD = 600_000;

    final String name;
    final int fd;
    final int keySize;
    final int valueSize;
    /** The most entries the map takes (a hash or trie refuses more with E2BIG/ENOSPC); 0 when unknown. */
    final long maxEntries;
    private final LibBpf lib;
    private final int ncpus;

    BpfMap(LibBpf lib, String name, int fd, int keySize, int valueSize, long maxEntries, int ncpus) {
        this.lib = lib;
        this.name = name;
        this.fd = fd;
        this.keySize = keySize;
        this.valueSize = valueSize;
        this.maxEntries = maxEntries;
        this.ncpus = ncpus;
    }

    /**
     * Refuses, before anything is written, a change that would need more than the map holds at its peak:
     * {@code present} entries now, {@code added} new ones written before any removal.
     */
    void checkRoom(long present, long added, String what) throws io.septum.api.datapath.DatapathException {
        if (maxEntries > 0 && present + added > maxEntries) {
            throw new io.septum.api.datapath.DatapathException(what + " needs " + added + " more entries in " + name
                    + ", which holds " + present + " of " + maxEntries + " (map full); the previous state was kept");
        }
    }

    byte[] lookup(byte[] key) {
        byte[] v = new byte[valueSize];
        return lib.bpf_map_lookup_elem(fd, key, v) == 0 ? v : null;
    }

    int update(byte[] key, byte[] value, long flags) {
        return lib.bpf_map_update_elem(fd, key, value, flags);
    }

    int delete(byte[] key) {
        return lib.bpf_map_delete_elem(fd, key);
    }

    List<byte[]> keys() {
        List<byte[]> out = new ArrayList<>();
        byte[] prev = null;
        // conntrack churns while we walk: bound the walk well above any map's size instead of trusting it to end
        for (int guard = 0; guard < WALK_GUARD; guard++) {
            byte[] next = new byte[keySize];
            if (lib.bpf_map_get_next_key(fd, prev, next) != 0) break;
            out.add(next);
            prev = next;
        }
        return out;
    }

    Map<Bytes, byte[]> readAll() {
        Map<Bytes, byte[]> out = new LinkedHashMap<>();
        for (byte[] k : keys()) {
            byte[] v = lookup(k);
            if (v != null) out.put(new Bytes(k), v);
        }
        return out;
    }

    /** The sum over CPUs of a per-CPU map's 64-bit counter; 0 when absent. */
    long percpuSum(byte[] key) {
        byte[] v = new byte[valueSize * ncpus];
        if (lib.bpf_map_lookup_elem(fd, key, v) != 0) return 0;
        long sum = 0;
        for (int c = 0; c < ncpus; c++) {
            long x = 0;
            for (int i = 7; i >= 0; i--) x = (x << 8) | (v[c * valueSize + i] & 0xff);
            sum += x;
        }
        return sum;
    }

    @Override
    public String toString() {
        return name;
    }
}
