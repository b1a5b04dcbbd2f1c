package io.septum.endpoints.internal;

import io.septum.api.Identity;
import io.septum.api.IpcacheEntry;
import io.septum.api.Label;
import io.septum.api.ReservedIdentity;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;

/**
 * The ipcache the datapath gets, one entry per prefix, each source overriding the ones before it for the same
 * prefix: the CIDRs policies name, then other nodes' endpoints (cluster mode), then the host's own addresses
 * ({@code reserved:host}: no other node can claim them), then this node's endpoints, which win an address. The
 * other nodes' endpoints are by far the most (10,000 in a large cluster, against a few local ones): they are not
 * copied into the builder but merged with the local entries in one ordered walk when it builds.
 */
final class IpcacheBuilder {
    /** The local entries, each source overriding the ones before it. */
    private final TreeMap<String, IpcacheEntry> entries = new TreeMap<>();
    /** Local prefixes put before the remote entries and not since: a remote entry overrides them. */
    private final Set<String> underRemote = new HashSet<>();
    private NavigableMap<String, IpcacheEntry> remote = Collections.emptyNavigableMap();
    private boolean remoteAdded;

    private void put(String prefix, IpcacheEntry e) {
        entries.put(prefix, e);
        if (remoteAdded) underRemote.remove(prefix);
        else underRemote.add(prefix);
    }

    IpcacheBuilder cidrs(Map<String, Identity> cidrIdentities) {
        for (var e : cidrIdentities.entrySet()) {
            boolean learned = e.getValue().labelSet().asList().stream().anyMatch(l -> Label.FQDN.equals(l.source()));
            put(e.getKey(), new IpcacheEntry(e.getKey(), e.getValue().id(), learned ? "fqdn" : "policy-cidr"));
        }
        return this;
    }

    IpcacheBuilder host(List<String> hostAddresses) {
        for (String a : hostAddresses) {
            String ip = IpAddresses.parse(a);
            if (ip != null && !IpAddresses.isLinkLocal(ip)) {
                put(IpAddresses.hostPrefix(ip), new IpcacheEntry(IpAddresses.hostPrefix(ip), ReservedIdentity.HOST.id(), "host"));
            }
        }
        return this;
    }

    /** Other nodes' endpoints (cluster mode); once per builder. */
    IpcacheBuilder remote(RemoteIpcache remote) {
        if (remoteAdded) throw new IllegalStateException("the remote entries are added once");
        this.remote = remote.byPrefix();
        remoteAdded = true;
        return this;
    }

    IpcacheBuilder endpoint(long endpointId, long identity, List<String> addresses) {
        for (String ip : addresses) {
            String prefix = IpAddresses.hostPrefix(ip);
            put(prefix, new IpcacheEntry(prefix, identity, "endpoint:" + endpointId));
        }
        return this;
    }

    /** The ipcache, sorted by prefix. */
    List<IpcacheEntry> build() {
        List<IpcacheEntry> out = new ArrayList<>(remote.size() + entries.size());
        Iterator<IpcacheEntry> r = remote.values().iterator();
        Iterator<IpcacheEntry> l = entries.values().iterator();
        IpcacheEntry re = r.hasNext() ? r.next() : null, le = l.hasNext() ? l.next() : null;
        while (re != null || le != null) {
            int c = re == null ? 1 : le == null ? -1 : re.prefix().compareTo(le.prefix());
            if (c < 0) out.add(re);
            else if (c > 0) out.add(le);
            else out.add(underRemote.contains(le.prefix()) ? re : le);
            if (c <= 0) re = r.hasNext() ? r.next() : null;
            if (c >= 0) le = l.hasNext() ? l.next() : null;
        }
        return Collections.unmodifiableList(out);
    }
}
