package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathException;
import java.util.logging.Logger;

/**
 * The policy epoch in {@code septum_epoch}, which lets the programs pass a packet of an established connection on
 * its conntrack entry alone ({@code verdict_established} in {@code bpf/src/lib/verdict.h}): an entry stands for a
 * verdict only while it carries the current epoch. Every change to a map that a verdict reads (endpoints, policy,
 * ipcache, the endpoints' addresses) moves the epoch on after its last write, so the next packet of every
 * connection is judged again: a revoked allow still cuts established flows. The value is never 0, which entries that
 * stand for no verdict carry; it wraps after 2^32 changes, far more than happen within a connection's idle timeout.
 * Not thread-safe: the datapath's lock guards it.
 */
final class PolicyEpoch {
    private static final Logger LOG = Logger.getLogger(PolicyEpoch.class.getName());

    private final BpfMap map;
    private long value;

    /** Starts from what the pinned map holds (a previous agent's epoch). */
    PolicyEpoch(BpfMap map) {
        this.map = map;
        byte[] v = map.lookup(Bytes.u32(0));
        this.value = v == null ? 0 : Bytes.u32(v);
    }

    long value() {
        return value;
    }

    /** Moves the epoch on; throws when it cannot, since connections would then keep verdicts a change revoked. */
    void advance() throws DatapathException {
        long next = (value + 1) & 0xffffffffL;
        if (next == 0) next = 1;
        int rc = map.update(Bytes.u32(0), Bytes.u32(next), LibBpf.BPF_ANY);
        if (rc < 0) {
            throw new DatapathException("moving the policy epoch on failed: " + BpfErrors.errno(-rc)
                    + "; established connections may keep a verdict that this change revoked");
        }
        value = next;
    }

    /** {@link #advance()} after a failed change (part of it may have been written): a failure here is only logged. */
    void advanceAfterFailure() {
        try {
            advance();
        } catch (DatapathException e) {
            LOG.severe(e.getMessage());
        }
    }
}
