package io.septum.endpoints.internal;

import io.septum.api.Identity;
import io.septum.api.IpcacheEntry;
import io.septum.api.RemoteEndpoint;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongFunction;

/**
 * Cluster mode's part of the ipcache: the other nodes' endpoints as ipcache entries, and the identities of theirs
 * that selectors resolve against. A pass hands it the remote endpoints whose labels are known and reads the result;
 * an endpoint seen in the previous update keeps its entry object, so one change among ten thousand costs no new
 * entries. Today each update is the whole list ({@link #replaceAll}); the readers ({@link #entries},
 * {@link #identities}, {@link #endpoints}) do not depend on that, so that a later path can feed added and removed
 * endpoints instead. Entries keep the order of the endpoints: where two remote endpoints claim one address, the later
 * wins in the ipcache (a delta path has to keep that rule or state its own). Used by the regeneration thread only.
 */
final class RemoteIpcache {
    private Map<RemoteEndpoint, IpcacheEntry> byEndpoint = Map.of();
    private List<IpcacheEntry> entries = List.of();
    private List<RemoteEndpoint> endpoints = List.of();
    private Map<Long, Identity> identities = Map.of();

    /**
     * The remote endpoints now, in the order the cluster lists them; {@code labels} gives the identity of a number
     * (null when its labels are not known: such a number adds no identity, as node addresses and
     * {@code remote-node} need none). An endpoint whose address is not an IP address gets no entry.
     */
    void replaceAll(List<RemoteEndpoint> remote, LongFunction<Identity> labels) {
        Map<RemoteEndpoint, IpcacheEntry> next = new HashMap<>((int) (remote.size() / 0.75f) + 1);
        List<IpcacheEntry> ordered = new ArrayList<>(remote.size());
        for (RemoteEndpoint r : remote) {
            IpcacheEntry e = byEndpoint.get(r);
            if (e == null) {
                String ip = IpAddresses.parse(r.ip());
                if (ip == null) continue;
                e = new IpcacheEntry(IpAddresses.hostPrefix(ip), r.identity(), r.source());
            }
            next.put(r, e);
            ordered.add(e);
        }
        Map<Long, Identity> used = new TreeMap<>();
        for (RemoteEndpoint r : remote) {
            Identity i = labels.apply(r.identity());
            if (i != null) used.put(i.id(), i);
        }
        byEndpoint = next;
        entries = Collections.unmodifiableList(ordered);
        endpoints = List.copyOf(remote);
        identities = Collections.unmodifiableMap(used);
    }

    /** The entries, in the order the later of two for one prefix wins. */
    List<IpcacheEntry> entries() {
        return entries;
    }

    /** The remote endpoints of the last update (their named ports count among the peers'). */
    List<RemoteEndpoint> endpoints() {
        return endpoints;
    }

    /** The identities remote endpoints carry whose labels are known, by number. */
    Map<Long, Identity> identities() {
        return identities;
    }
}
