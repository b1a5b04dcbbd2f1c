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
     * The remote endpoints now, with their identities' labels looked up; one whose labels cannot be had yet is still
     * listed (it goes into the ipcache) but is missing from {@link #identity} (no selector matches it: fail closed),
     * and {@link #labelsMissing()} says the next pass should ask again.
     */
    List<RemoteEndpoint> list(IdentityAllocator identities) {
        missing = false;
        RemoteEndpoints r = remote;
        if (r == null) return List.of();
        List<RemoteEndpoint> list = r.list();
        for (RemoteEndpoint e : list) {
            if (e.identity() < ReservedIdentity.FIRST_ALLOCATED || labels.containsKey(e.identity())) continue;
            try {
                identities.get(e.identity()).ifPresent(i -> labels.put(i.id(), i));
            } catch (RuntimeException ex) {
                LOG.log(Level.FINE, "labels of remote identity " + e.identity() + " not known yet", ex);
            }
            if (!labels.containsKey(e.identity())) missing = true;
        }
        if (labels.size() > MAX_CACHED) labels.clear();
        return list;
    }

    /** The labels of a remote number, when known. */
    Identity identity(long id) {
        return labels.get(id);
    }

    boolean labelsMissing() {
        return missing;
    }
}
