package io.septum.endpoints.internal;

import io.septum.api.policy.PolicyRealizationListener;
import io.septum.support.thread.Listeners;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Logger;

/**
 * Policy realization latency: the repository announces a revision, a later pass pushes it to the datapath, and the
 * listeners (metrics, cluster mode's per-node realised revisions) hear about every announced revision it covered.
 */
final class Realization {
    private static final Logger LOG = Logger.getLogger(Realization.class.getName());

    private final Listeners<PolicyRealizationListener> listeners =
            new Listeners<>(LOG, "a policy realization listener failed");
    /** Revision to the nano time it was announced, until a pass has realised it. */
    private final TreeMap<Long, Long> unrealized = new TreeMap<>();

    void addListener(PolicyRealizationListener l) {
        listeners.add(l);
    }

    void removeListener(PolicyRealizationListener l) {
        listeners.remove(l);
    }

    synchronized void announced(long revision, long nanoTime) {
        unrealized.putIfAbsent(revision, nanoTime);
    }

    /** Tells the listeners of every announced revision up to {@code revision}, now in the datapath. */
    void realized(long revision, int endpoints) {
        long now = System.nanoTime();
        List<Map.Entry<Long, Long>> done;
        synchronized (this) {
            var head = unrealized.headMap(revision, true);
            done = List.copyOf(head.entrySet());
            head.clear();
        }
        for (var d : done) {
            listeners.tell(l -> l.realized(d.getKey(), now - d.getValue(), endpoints));
        }
    }
}
