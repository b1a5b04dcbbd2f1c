package io.septum.endpoints.internal;

import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.RemoteEndpoint;
import io.septum.api.RemoteEndpointChanges;
import io.septum.api.RemoteEndpoints;
import io.septum.api.ReservedIdentity;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
    /** This and the fields below are touched by the regeneration thread only. */
    private final Map<Long, Identity> labels = new HashMap<>();
    private boolean missing;
    /** The view the fields below follow, and the version of it they are at (0: take the whole list next). */
    private RemoteEndpoints following;
    private long version;
    /** Every remote endpoint the view gave, by address; those whose labels are not known yet; numbers in use. */
    private final Map<String, RemoteEndpoint> held = new HashMap<>();
    private final Map<String, RemoteEndpoint> waiting = new HashMap<>();
    private final Map<Long, Integer> uses = new HashMap<>();

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
     * Brings {@code target} up to the remote endpoints now whose identities' labels are known (node addresses,
     * {@code remote-node}, need none): only what changed since the last call when the bound view keeps a history
     * ({@code RemoteEndpoints.changesSince}), else the whole list. One whose labels cannot be had yet is left out,
     * so that its address stays {@code world} rather than carry a number that selectors cannot see (a wildcard
     * allow would admit it while a deny by labels would miss it); {@link #labelsMissing()} then says the next pass
     * should ask again. Labels of numbers no remote endpoint uses any more are forgotten: after GC a number may come
     * back with other labels.
     */
    void update(IdentityAllocator identities, RemoteIpcache target) {
        missing = false;
        RemoteEndpoints r = remote;
        if (r != following) {
            following = r;
            version = 0;
        }
        if (r == null) {
            labels.clear();
            held.clear();
            uses.clear();
            waiting.clear();
            target.replaceAll(List.of(), this::identity);
            return;
        }
        RemoteEndpointChanges changes = r.changesSince(version);
        List<RemoteEndpoint> known = new ArrayList<>();
        if (changes.full()) {
            held.clear();
            uses.clear();
            waiting.clear();
            boolean twice = false, unknown = false;
            for (RemoteEndpoint e : changes.upserted()) {
                twice |= held.put(e.ip(), e) != null;
                if (e.identity() >= ReservedIdentity.FIRST_ALLOCATED) uses.merge(e.identity(), 1, Integer::sum);
                if (labelsKnown(e, identities)) {
                    known.add(e);
                } else {
                    waiting.put(e.ip(), e);
                    unknown = true;
                }
            }
            forgetUnusedLabels();
            target.replaceAll(known, this::identity);
            missing = unknown;
            // a list that names an address twice cannot be followed by address: ask for the whole list again
            version = twice ? 0 : changes.version();
            return;
        }
        List<String> gone = new ArrayList<>();
        for (String ip : changes.removed()) {
            RemoteEndpoint was = held.remove(ip);
            if (was == null) continue;
            unuse(was);
            waiting.remove(ip);
            gone.add(ip);
        }
        // those that waited for their labels are asked again, unless replaced now (the new ones are asked below)
        Set<String> replaced = new HashSet<>();
        for (RemoteEndpoint e : changes.upserted()) replaced.add(e.ip());
        for (var it = waiting.values().iterator(); it.hasNext(); ) {
            RemoteEndpoint e = it.next();
            if (!replaced.contains(e.ip()) && labelsKnown(e, identities)) {
                known.add(e);
                it.remove();
            }
        }
        for (RemoteEndpoint e : changes.upserted()) {
            RemoteEndpoint was = held.put(e.ip(), e);
            if (was != null) {
                unuse(was);
                waiting.remove(e.ip());
            }
            if (e.identity() >= ReservedIdentity.FIRST_ALLOCATED) uses.merge(e.identity(), 1, Integer::sum);
            if (labelsKnown(e, identities)) {
                known.add(e);
            } else {
                waiting.put(e.ip(), e);
                gone.add(e.ip());
            }
        }
        forgetUnusedLabels();
        target.apply(known, gone, this::identity);
        missing = !waiting.isEmpty();
        version = changes.version();
    }

    private void forgetUnusedLabels() {
        labels.keySet().retainAll(uses.keySet());
        if (labels.size() > MAX_CACHED) labels.clear();
    }

    private boolean labelsKnown(RemoteEndpoint e, IdentityAllocator identities) {
        if (e.identity() < ReservedIdentity.FIRST_ALLOCATED) return true;
        if (!labels.containsKey(e.identity())) {
            try {
                identities.get(e.identity()).ifPresent(i -> labels.put(i.id(), i));
            } catch (RuntimeException ex) {
                LOG.log(Level.FINE, "labels of remote identity " + e.identity() + " not known yet", ex);
            }
        }
        return labels.containsKey(e.identity());
    }

    private void unuse(RemoteEndpoint e) {
        if (e.identity() >= ReservedIdentity.FIRST_ALLOCATED) uses.computeIfPresent(e.identity(), (k, n) -> n == 1 ? null : n - 1);
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
