package io.septum.kvstore.etcd.internal;

import io.septum.api.RemoteEndpoint;
import io.septum.api.RemoteEndpointChanges;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The remote endpoints {@link IpcacheSync} serves, kept up to date one claim at a time: a claim is an ip key that
 * passed the checks, or one of a registered node's own addresses. An address with exactly one claim is accepted; one
 * that two claims name belongs to neither (it stays {@code world} until one lets go). Each accepted address that
 * changes gets a new version, so that consumers can ask what changed since the version they hold
 * ({@link #changesSince}) instead of taking the whole list for every change. Not thread-safe: the caller guards it.
 */
final class AcceptedEndpoints {
    /** How many more changed addresses the log keeps than there are accepted ones (the removed ones among them). */
    private final int extraLog;
    /** Address to its claims, by claim key. */
    private final Map<String, Map<String, RemoteEndpoint>> claims = new HashMap<>();
    /** Claim key to the address it claims. */
    private final Map<String, String> claimed = new HashMap<>();
    /** Address to its endpoint, for the addresses with one claim; sorted, as {@link #list()} promises. */
    private final TreeMap<String, RemoteEndpoint> accepted = new TreeMap<>();
    /** Each changed address once, by the version of its last change (and the reverse), oldest trimmed first. */
    private final TreeMap<Long, String> log = new TreeMap<>();
    private final Map<String, Long> changedAt = new HashMap<>();
    private long version;
    /** Changes up to this version may have been trimmed: a consumer behind it gets everything. */
    private long floor;
    /** Addresses whose claims changed during a {@link #beginRebuild() rebuild}, settled at its end; else null. */
    private Set<String> deferred;
    private List<RemoteEndpoint> listed = List.of();
    private long listedAt;

    AcceptedEndpoints(int extraLog) {
        this.extraLog = extraLog;
    }

    /** Makes the claim {@code key} name {@code endpoint} (null: withdraws it), and settles the addresses involved. */
    void claim(String key, RemoteEndpoint endpoint) {
        String before = endpoint == null ? claimed.remove(key) : claimed.put(key, endpoint.ip());
        if (before != null && (endpoint == null || !before.equals(endpoint.ip()))) {
            Map<String, RemoteEndpoint> c = claims.get(before);
            c.remove(key);
            if (c.isEmpty()) claims.remove(before);
            settle(before);
        }
        if (endpoint != null) {
            claims.computeIfAbsent(endpoint.ip(), ip -> new HashMap<>(2)).put(key, endpoint);
            settle(endpoint.ip());
        }
    }

    /**
     * Forgets every claim until {@link #endRebuild()}, which settles each address once: a re-list replays all claims,
     * and consumers see only what differs from before it.
     */
    void beginRebuild() {
        deferred = new HashSet<>(accepted.keySet());
        claims.clear();
        claimed.clear();
    }

    void endRebuild() {
        Set<String> touched = deferred;
        deferred = null;
        for (String ip : touched) settle(ip);
    }

    private void settle(String ip) {
        if (deferred != null) {
            deferred.add(ip);
            return;
        }
        Map<String, RemoteEndpoint> c = claims.get(ip);
        RemoteEndpoint now = c != null && c.size() == 1 ? c.values().iterator().next() : null;
        RemoteEndpoint was = now == null ? accepted.remove(ip) : accepted.put(ip, now);
        if (now == null ? was == null : now.equals(was)) return;
        version++;
        Long previous = changedAt.put(ip, version);
        if (previous != null) log.remove(previous);
        log.put(version, ip);
        while (log.size() > accepted.size() + extraLog) {
            Map.Entry<Long, String> oldest = log.pollFirstEntry();
            changedAt.remove(oldest.getValue());
            floor = oldest.getKey();
        }
    }

    long version() {
        return version;
    }

    /** Every accepted endpoint, sorted by address (the list is kept until the next change). */
    List<RemoteEndpoint> list() {
        if (listedAt != version) {
            listed = List.copyOf(accepted.values());
            listedAt = version;
        }
        return listed;
    }

    /** What changed after version {@code since}; everything when the log no longer reaches back that far. */
    RemoteEndpointChanges changesSince(long since) {
        if (since <= 0 || since < floor || since > version) return RemoteEndpointChanges.everything(version, list());
        List<RemoteEndpoint> upserted = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        for (String ip : log.tailMap(since, false).values()) {
            RemoteEndpoint e = accepted.get(ip);
            if (e != null) upserted.add(e);
            else removed.add(ip);
        }
        upserted.sort(java.util.Comparator.comparing(RemoteEndpoint::ip));
        return new RemoteEndpointChanges(version, false, upserted, removed);
    }
}
