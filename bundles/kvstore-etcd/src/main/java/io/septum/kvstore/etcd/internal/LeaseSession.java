package io.septum.kvstore.etcd.internal;

import io.septum.support.thread.DaemonThreads;
import io.septum.support.thread.Listeners;
import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * This node's etcd lease: granted once, renewed every TTL/3, revoked on close. When a renewal reports the lease gone
 * (it expired while etcd was unreachable, or someone revoked it), every key written with it is gone too: the session
 * grants a new lease and tells its listeners, who re-create their keys with it (Cilium's agents do the same).
 */
public final class LeaseSession implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(LeaseSession.class.getName());

    private final EtcdClient etcd;
    private final long ttlSeconds;
    private final ScheduledExecutorService timer;
    private final Listeners<LongConsumer> onNewLease = new Listeners<>(LOG, "a lease listener failed");
    private volatile long id;
    private volatile long lastRenewed;
    private volatile int lost;
    private volatile String lastError;
    private volatile boolean closed;

    /**
     * Grants the lease and starts renewing it. With etcd unreachable the session starts without a lease ({@link #id()}
     * is 0) and grants one on a later renewal, telling the listeners as after a loss.
     */
    public LeaseSession(EtcdClient etcd, long ttlSeconds) {
        if (ttlSeconds < 2) throw new IllegalArgumentException("lease TTL must be at least 2 s, not " + ttlSeconds);
        this.etcd = etcd;
        this.ttlSeconds = ttlSeconds;
        try {
            this.id = etcd.grant(ttlSeconds);
        } catch (IOException e) {
            lastError = "no lease yet: " + e.getMessage();
            LOG.warning(() -> "cannot grant an etcd lease (" + e.getMessage() + "); retrying every TTL/3");
        }
        this.lastRenewed = System.nanoTime();
        this.timer = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("etcd-lease-keepalive"));
        long period = Math.max(300, ttlSeconds * 1000 / 3);
        timer.scheduleWithFixedDelay(this::renew, period, period, TimeUnit.MILLISECONDS);
    }

    /** The current lease id (it changes after a loss); 0 while none could be granted. */
    public long id() {
        return id;
    }

    /** How many times the lease was found gone and replaced. */
    public int lostCount() {
        return lost;
    }

    /** True when no renewal succeeded for longer than the TTL: the lease may be gone (etcd will say on reconnect). */
    public boolean stale() {
        return System.nanoTime() - lastRenewed > TimeUnit.SECONDS.toNanos(ttlSeconds);
    }

    public String lastError() {
        return lastError;
    }

    /** Called with the new lease id after a loss, on the keepalive thread. */
    public void onNewLease(LongConsumer listener) {
        onNewLease.add(listener);
    }

    /** One renewal; public so that tests (and a status command) can force the loss check now. */
    public synchronized void renew() {
        if (closed) return;
        try {
            long ttl = id == 0 ? 0 : etcd.keepAliveOnce(id);
            if (ttl > 0) {
                lastRenewed = System.nanoTime();
                lastError = null;
                return;
            }
            long old = id;
            if (old != 0) {
                lost++;
                LOG.warning(() -> "etcd lease " + Long.toHexString(old) + " is gone (expired or revoked): its keys are"
                        + " deleted; granting a new lease and re-creating them");
            }
            id = etcd.grant(ttlSeconds);
            lastRenewed = System.nanoTime();
            lastError = null;
            long granted = id;
            onNewLease.tell(l -> l.accept(granted));
        } catch (IOException e) {
            lastError = "lease renewal failed: " + e.getMessage();
            LOG.log(stale() ? Level.WARNING : Level.FINE, lastError, e);
        }
    }

    /** Stops renewing without revoking: the keys stay until the TTL runs out (what a crashed agent leaves). */
    public void abandon() {
        closed = true;
        timer.shutdownNow();
    }

    /** Stops renewing and revokes the lease, which deletes this node's leased keys at once. */
    @Override
    public void close() {
        abandon();
        if (id == 0) return;
        try {
            etcd.revoke(id);
        } catch (IOException e) {
            LOG.log(Level.FINE, "revoking lease " + Long.toHexString(id) + " failed; it expires in " + ttlSeconds + " s", e);
        }
    }
}
