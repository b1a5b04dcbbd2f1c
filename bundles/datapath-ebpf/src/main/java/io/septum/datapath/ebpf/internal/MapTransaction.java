package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.logging.Logger;

/** Records each map write's previous value so that a failed multi-entry change can be put back. */
final class MapTransaction {
    private static final Logger LOG = Logger.getLogger(MapTransaction.class.getName());
    private static final int ENOENT = 2;
    /** What the kernel answers when a new key does not fit a full hash map. */
    static final int E2BIG = 7;

    private record Write(BpfMap map, byte[] key, byte[] old) {
    }

    private final Deque<Write> log = new ArrayDeque<>();

    /** {@code old}: the exact entry's current value, null when absent (callers know it from their diff). */
    void put(BpfMap map, byte[] key, byte[] value, byte[] old, String what) throws DatapathException {
        int rc = map.update(key, value, LibBpf.BPF_ANY);
        if (rc == -E2BIG) {
            throw new DatapathException("writing " + what + " to " + map.name + " failed: " + map.name + " holds "
                    + map.maxEntries + " entries and is full (map full); the previous state was kept");
        }
        if (rc < 0) {
            throw new DatapathException("writing " + what + " to " + map.name + " failed: " + BpfErrors.errno(-rc)
                    + "; the previous state was kept");
        }
        log.push(new Write(map, key, old));
    }

    void delete(BpfMap map, byte[] key, byte[] old, String what) throws DatapathException {
        int rc = map.delete(key);
        if (rc < 0 && rc != -ENOENT) {
            throw new DatapathException("deleting " + what + " from " + map.name + " failed: " + BpfErrors.errno(-rc)
                    + "; the previous state was kept");
        }
        if (old != null) log.push(new Write(map, key, old));
    }

    void rollback() {
        while (!log.isEmpty()) {
            Write w = log.pop();
            int rc = w.old() == null ? w.map().delete(w.key()) : w.map().update(w.key(), w.old(), LibBpf.BPF_ANY);
            if (rc < 0 && rc != -ENOENT) LOG.warning("rollback of a write to " + w.map() + " failed: " + BpfErrors.errno(-rc));
        }
    }
}
