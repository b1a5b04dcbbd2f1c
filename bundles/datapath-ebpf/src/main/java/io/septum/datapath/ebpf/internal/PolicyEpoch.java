package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathException;
import jnr.ffi.LastError;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * The policy epoch in {@code septum_epoch}, which lets the programs pass a packet of an established connection on
 * its conntrack entry alone ({@code verdict_established} in {@code bpf/src/lib/verdict.h}): an entry stands for a
 * verdict only while it carries the current epoch. Every change to a map that a verdict reads (endpoints, policy,
 * ipcache, the endpoints' addresses) moves the epoch on after its last write, so the next packet of every
 * connection is judged again: a revoked allow still cuts established flows. Changes to the failsafe ports, the
 * proxies' ports and the services need not: a failsafe or redirected connection's entry carries no epoch (each packet
 * is judged), and load balancing runs on every packet before the fast path.
 *
 * <p>The map is memory-mapped ({@code BPF_F_MMAPABLE}) and written with one aligned 4-byte store, so a program never
 * reads a half-written value (a map update copies bytewise on some CPUs). The value is never 0, which entries that
 * stand for no verdict carry; it wraps after 2^32 changes, far more than happen within a connection's idle timeout.
 * Not thread-safe: the datapath's lock guards it.
 */
final class PolicyEpoch implements AutoCloseable {
    private static final int PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;
    private static final long PAGE = 4096;

    private final LibC libc;
    private Pointer page;
    private long value;

    /** Maps the pinned map's page and starts from what it holds (a previous agent's epoch). */
    PolicyEpoch(BpfMap map, LibC libc, Runtime runtime) throws DatapathException {
        this.libc = libc;
        Pointer p = libc.mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, map.fd, 0);
        if (p == null || p.address() == -1L) {
            throw new DatapathException("cannot map " + map.name + " into memory: "
                    + BpfErrors.errno(LastError.getLastError(runtime)));
        }
        this.page = p;
        this.value = Integer.toUnsignedLong(p.getInt(0));
    }

    /** Moves the epoch on. */
    void advance() {
        long next = (value + 1) & 0xffffffffL;
        if (next == 0) next = 1;
        java.lang.invoke.VarHandle.releaseFence(); // the change's map writes before the new epoch, on any CPU
        page.putInt(0, (int) next);
        value = next;
    }

    @Override
    public void close() {
        if (page != null) libc.munmap(page, PAGE);
        page = null;
    }
}
