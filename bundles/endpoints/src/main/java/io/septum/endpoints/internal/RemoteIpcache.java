package io.septum.endpoints.internal;

import io.septum.api.Identity;
import io.septum.api.IpcacheEntry;
import io.septum.api.RemoteEndpoint;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.function.LongFunction;

/**
 * Cluster mode's part of the ipcache: the other nodes' endpoints as ipcache entries, and the identities of theirs
 * that selectors resolve against. A pass hands it either the whole list of remote endpoints whose labels are known
 * ({@link #replaceAll}) or what changed among them ({@link #apply}), and reads the result; an endpoint already held
 * keeps its entry object, and a change costs O(log n), not a pass over every entry. Where two remote endpoints claim
 * one prefix (two spellings of one address), the one later in the cluster's order wins: with a whole list that is
 * the list's order, with changes the address's text (the order {@code RemoteEndpoints.list} sorts by, so both agree
 * for a sorted list). Used by the regeneration thread only.
 */
final class RemoteIpcache {
    /** The endpoints held, by address, in the order they were given (sorted by address after any change). */
    private Map<String, RemoteEndpoint> endpoints = new TreeMap<>();
    /** Prefix to the entries of the addresses that claim it, by address; the last one wins. */
    private final Map<String, TreeMap<String, IpcacheEntry>> claims = new HashMap<>();
    /** Prefix to its winning entry, sorted as the ipcache is. */
    private final TreeMap<String, IpcacheEntry> winners = new TreeMap<>();
    /** Identity to its labels and how many held endpoints carry it. */
    private final Map<Long, Identity> identities = new TreeMap<>();
    private final Map<Long, Integer> uses = new HashMap<>();
    private List<RemoteEndpoint> endpointList;
    /** The held endpoints that name ports (few, usually), by address. */
    private final Map<String, RemoteEndpoint> named = new TreeMap<>();
    private List<RemoteEndpoint> namedList;

    /**
     * The remote endpoints now, in the order the cluster lists them; {@code labels} gives the identity of a number
     * (null when its labels are not known: such a number adds no identity, as node addresses and
     * {@code remote-node} need none). An endpoint whose address is not an IP address gets no entry.
     */
    void replaceAll(List<RemoteEndpoint> remote, LongFunction<Identity> labels) {
        Map<String, IpcacheEntry> previous = new HashMap<>((int) (endpoints.size() / 0.75f) + 1);
        for (RemoteEndpoint r : endpoints.values()) {
            IpcacheEntry e = entryOf(r);
            if (e != null) previous.put(r.ip(), e);
        }
        claims.clear();
        winners.clear();
        identities.clear();
        uses.clear();
        named.clear();
        endpoints = new HashMap<>((int) (remote.size() / 0.75f) + 1);
        for (RemoteEndpoint r : remote) {
            endpoints.put(r.ip(), r);
            hold(r, reusable(previous.get(r.ip()), r), labels, false);
        }
        // an address listed twice (only views that keep no history do) is held twice: its identities count
        endpointList = List.copyOf(remote);
        namedList = remote.stream().filter(r -> !r.namedPorts().isEmpty()).toList();
    }

    /** Applies what changed: {@code upserted} endpoints are added or replace the one of their address. */
    void apply(Collection<RemoteEndpoint> upserted, Collection<String> removed, LongFunction<Identity> labels) {
        if (!(endpoints instanceof TreeMap)) endpoints = new TreeMap<>(endpoints);
        endpointList = null;
        namedList = null;
        for (String ip : removed) {
            RemoteEndpoint was = endpoints.remove(ip);
            if (was != null) forget(was);
        }
        for (RemoteEndpoint r : upserted) {
            RemoteEndpoint was = endpoints.put(r.ip(), r);
            if (r.equals(was)) continue;
            IpcacheEntry keep = was == null ? null : entryOf(was);
            if (was != null) forget(was);
            hold(r, reusable(keep, r), labels, true);
        }
    }

    private static IpcacheEntry reusable(IpcacheEntry e, RemoteEndpoint r) {
        return e != null && e.identity() == r.identity() && e.source().equals(r.source()) ? e : null;
    }

    private IpcacheEntry entryOf(RemoteEndpoint r) {
        String ip = IpAddresses.parse(r.ip());
        if (ip == null) return null;
        TreeMap<String, IpcacheEntry> c = claims.get(IpAddresses.hostPrefix(ip));
        return c == null ? null : c.get(r.ip());
    }

    /** @param byText the winner of a prefix is its claim with the greatest address text, else the latest */
    private void hold(RemoteEndpoint r, IpcacheEntry reuse, LongFunction<Identity> labels, boolean byText) {
        if (!r.namedPorts().isEmpty()) named.put(r.ip(), r);
        Identity i = labels.apply(r.identity());
        if (i != null) {
            identities.put(i.id(), i);
            uses.merge(i.id(), 1, Integer::sum);
        }
        String ip = IpAddresses.parse(r.ip());
        if (ip == null) return;
        String prefix = IpAddresses.hostPrefix(ip);
        IpcacheEntry e = reuse != null ? reuse : new IpcacheEntry(prefix, r.identity(), r.source());
        TreeMap<String, IpcacheEntry> c = claims.computeIfAbsent(prefix, p -> new TreeMap<>());
        c.put(r.ip(), e);
        // with a whole list the later one wins whatever its text; changes go by the text
        winners.put(prefix, byText ? c.lastEntry().getValue() : e);
    }

    private void forget(RemoteEndpoint r) {
        named.remove(r.ip(), r);
        Integer n = uses.get(r.identity());
        if (n != null) {
            if (n == 1) {
                uses.remove(r.identity());
                identities.remove(r.identity());
            } else {
                uses.put(r.identity(), n - 1);
            }
        }
        String ip = IpAddresses.parse(r.ip());
        if (ip == null) return;
        String prefix = IpAddresses.hostPrefix(ip);
        TreeMap<String, IpcacheEntry> c = claims.get(prefix);
        if (c == null || c.remove(r.ip()) == null) return;
        if (c.isEmpty()) {
            claims.remove(prefix);
            winners.remove(prefix);
        } else {
            winners.put(prefix, c.lastEntry().getValue());
        }
    }

    /** The winning entry of each prefix, sorted by prefix (as {@link IpcacheBuilder} merges them). */
    NavigableMap<String, IpcacheEntry> byPrefix() {
        return Collections.unmodifiableNavigableMap(winners);
    }

    /** The entries, one per prefix. */
    List<IpcacheEntry> entries() {
        return List.copyOf(winners.values());
    }

    /** The remote endpoints held (their named ports count among the peers'). */
    List<RemoteEndpoint> endpoints() {
        if (endpointList == null) endpointList = List.copyOf(endpoints.values());
        return endpointList;
    }

    /** The held endpoints that name ports: all that {@link NamedPorts} needs of them. */
    List<RemoteEndpoint> withNamedPorts() {
        if (namedList == null) namedList = List.copyOf(named.values());
        return namedList;
    }

    /** The identities remote endpoints carry whose labels are known, by number. */
    Map<Long, Identity> identities() {
        return Collections.unmodifiableMap(identities);
    }
}
