package io.septum.endpoints.internal;

import java.time.Duration;
import java.util.function.LongConsumer;
import java.util.logging.Logger;

/**
 * Cluster mode's start gate (Cilium's ListDone): whether a pass may push what it computed. Standalone always. In
 * cluster mode, after a (re)start, only once the cluster's first listing of the other nodes' endpoints is in, or
 * the initial sync timeout has passed: before that a remote peer would be {@code world}, which a deny on its identity
 * would miss, while the kernel still holds what the previous agent computed with it (maps are pinned). Complete means
 * listed, with every remote identity's labels known. After the timeout the node goes on from local state. Asked on
 * the regeneration thread only; its state is volatile so that the status can read it.
 */
final class StartGate {
    private static final Logger LOG = Logger.getLogger(StartGate.class.getName());

    private final long startedAt;
    /** Asks for a pass at an epoch millisecond (the deadline of a closed gate). */
    private final LongConsumer wakeAt;
    private volatile boolean open;
    private volatile String timedOut;

    StartGate(long startedAt, LongConsumer wakeAt) {
        this.startedAt = startedAt;
        this.wakeAt = wakeAt;
    }

    /**
     * Whether a pass at {@code now} may push; {@code clusterName} null means standalone. A closed gate asks for a
     * pass at its deadline. Once open it stays open.
     */
    boolean passes(long now, String clusterName, Duration initialSyncTimeout, boolean remoteComplete) {
        if (open) return true;
        if (clusterName == null || remoteComplete) {
            open = true;
            return true;
        }
        long deadline = startedAt + initialSyncTimeout.toMillis();
        if (now < deadline) {
            wakeAt.accept(deadline);
            return false;
        }
        open = true;
        timedOut = "the cluster's first listing of the other nodes' endpoints was not in after "
                + initialSyncTimeout.toSeconds() + " s (etcd unreachable?): regenerated from local state, remote peers"
                + " are world until it is";
        LOG.warning(timedOut);
        return true;
    }

    boolean isOpen() {
        return open;
    }

    /** Why the gate opened without the cluster's listing, for the status; null when it did not. */
    String timedOut() {
        return timedOut;
    }
}
