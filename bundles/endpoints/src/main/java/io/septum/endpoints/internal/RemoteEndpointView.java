package io.septum.endpoints.internal;

import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.RemoteEndpoint;
import io.septum.api.RemoteEndpoints;
import io.septum.api.ReservedIdentity;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Cluster mode's other nodes as the endpoint manager uses them: their endpoints (for the ipcache) and the labels of
 * their identities (for what selectors resolve against). Labels are looked up once per number (a number's labels
 * never change) on the regeneration thread, outside the manager's lock, since that may ask the cluster's store.
 */
final class RemoteEndpointView {
    private static final Logger LOG = Logger.getLogger(RemoteEndpointView.class.getName());
    /** More numbers than the range holds means stale ones: start over. */
    private static final int MAX_CACHED = 70_000;

    private final Runnable onChange;
    private volatile RemoteEndpoints remote;
    /** Touched by the regeneration thread only. */
    private final Map<Long, Identity> labels = new HashMap<>();
    private boolean missing;

    RemoteEndpointView(Runnable onChange) {
        this.onChange = onChange;
    }

    /** Uses {@code r} (null: standalone); its changes call {@code onChange}. Returns whether anything changed. */
    boolean set(RemoteEndpoints r) {
        RemoteEndpoints old = remote;
        if (old == r) return false;
        if (old != null) old.removeListener(onChange);
        remote = r;
        if (r != null) r.addListener(onChange);
        return true;
    }

    /** Drops {@code r} if it is the one in use (a greedy rebind may have replaced it already). */
    boolean unset(RemoteEndpoints r) {
        return remote == r && set(null);
    }

    /**
     * The remote endpoints now whose identities' labels are known (node addresses, {@code remote-node}, need none).
     * One whose labels cannot be had yet is left out, so that its address stays {@code world} rather than carry a
     * number that selectors cannot see (a wildcard allow would admit it while a deny by labels would miss it);
     * {@link #labelsMissing()} then says the next pass should ask again. Labels of numbers no remote endpoint uses
     * any more are forgotten: after GC a number may come back with other labels.
     */
    List<RemoteEndpoint> list(IdentityAllocator identities) {
        missing = false;
        RemoteEndpoints r = remote;
        if (r == null) {
            labels.clear();
            return List.of();
        }
        List<RemoteEndpoint> known = new java.util.ArrayList<>();
        java.util.Set<Long> used = new java.util.HashSet<>();
        for (RemoteEndpoint e : r.list()) {
            if (e.identity() < ReservedIdentity.FIRST_ALLOCATED) {
                known.add(e);
                continue;
            }
            used.add(e.identity());
            if (!labels.containsKey(e.identity())) {
                try {
                    identities.get(e.identity()).ifPresent(i -> labels.put(i.id(), i));
                } catch (RuntimeException ex) {
                    LOG.log(Level.FINE, "labels of remote identity " + e.identity() + " not known yet", ex);
                }
            }
            if (labels.containsKey(e.identity())) known.add(e);
            else missing = true;
        }
        labels.keySet().retainAll(used);
        if (labels.size() > MAX_CACHED) labels.clear();
        return known;
    }

    /** The labels of a remote number, when known. */
    Identity identity(long id) {
        return labels.get(id);
    }

    /** Whether a view is bound and its first listing is in (Cilium's ListDone); false when standalone. */
    boolean synced() {
        RemoteEndpoints r = remote;
        return r != null && r.synced();
    }

    boolean labelsMissing() {
        return missing;
    }
}
