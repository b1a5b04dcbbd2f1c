package io.septum.endpoints.internal;

import io.septum.api.Endpoint;
import io.septum.api.EndpointListener;
import io.septum.api.EndpointSnapshot;
import io.septum.api.IpcacheEntry;
import io.septum.api.NamedPort;
import io.septum.support.thread.DaemonThreads;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The endpoint manager's side of {@link io.septum.api.EndpointIndex}: keeps the newest snapshot, makes a new one
 * (next revision) only when the endpoints or the ipcache really changed, and tells the listeners on one
 * notification thread. Deliveries coalesce: a listener gets the newest snapshot, once per revision.
 */
final class SnapshotPublisher {
    private static final Logger LOG = Logger.getLogger(SnapshotPublisher.class.getName());

    private volatile EndpointSnapshot current = EndpointSnapshot.EMPTY;
    /** Listener to the revision it was last given; touched on the notification thread only, after add. */
    private final Map<EndpointListener, Long> listeners = new ConcurrentHashMap<>();
    private final AtomicBoolean pending = new AtomicBoolean();
    private final ExecutorService notifier =
            Executors.newSingleThreadExecutor(DaemonThreads.named("septum-endpoints-notify"));

    EndpointSnapshot current() {
        return current;
    }

    /** Publishes the state (endpoints, ipcache, each identity's named ports) if it differs from the newest snapshot. */
    synchronized void offer(List<Endpoint> endpoints, List<IpcacheEntry> ipcache, Map<Long, List<NamedPort>> ports) {
        EndpointSnapshot cur = current;
        // the first offer is always published (revision 1): "no endpoints yet" and "no endpoints" differ
        if (cur.revision() > 0 && endpoints.equals(cur.endpoints()) && ipcache.equals(cur.ipcache())
                && ports.equals(cur.namedPorts())) return;
        current = new EndpointSnapshot(cur.revision() + 1, endpoints, ipcache, ports, cur);
        if (pending.compareAndSet(false, true)) submit(this::deliverAll);
    }

    /**
     * Publishes new named ports ahead of the pass that writes them to the datapath, with the endpoints and ipcache of
     * the newest snapshot: a proxy must know a port's name before the datapath redirects connections to it.
     */
    synchronized void offerPorts(Map<Long, List<NamedPort>> ports) {
        EndpointSnapshot cur = current;
        if (cur.revision() == 0) return; // the pass's own snapshot is the first: "no endpoints yet" stays unsaid
        offer(cur.endpoints(), cur.ipcache(), ports);
    }

    void add(EndpointListener l) {
        listeners.putIfAbsent(l, -1L);
        submit(this::deliverAll);
    }

    void remove(EndpointListener l) {
        listeners.remove(l);
    }

    private void submit(Runnable r) {
        try {
            notifier.execute(r);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing: nobody is left to tell
        }
    }

    private void deliverAll() {
        pending.set(false);
        EndpointSnapshot s = current;
        for (Map.Entry<EndpointListener, Long> e : listeners.entrySet()) {
            if (e.getValue() >= s.revision()) continue;
            e.setValue(s.revision());
            try {
                e.getKey().endpointsChanged(s);
            } catch (RuntimeException ex) {
                LOG.log(Level.WARNING, "an endpoint listener failed on revision " + s.revision(), ex);
            }
        }
    }

    void close() {
        notifier.shutdownNow();
        try {
            notifier.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
