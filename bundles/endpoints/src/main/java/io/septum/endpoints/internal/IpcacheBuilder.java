package io.septum.endpoints.internal;

import io.septum.api.Identity;
import io.septum.api.IpcacheEntry;
import io.septum.api.RemoteEndpoint;
import io.septum.api.ReservedIdentity;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The ipcache the datapath gets, one entry per prefix, each source overriding the ones before it for the same
 * prefix: the CIDRs policies name, then other nodes' endpoints (cluster mode), then the host's own addresses
 * ({@code reserved:host}: no other node can claim them), then this node's endpoints, which win an address.
 */
final class IpcacheBuilder {
    private final Map<String, IpcacheEntry> entries = new TreeMap<>();

    IpcacheBuilder cidrs(Map<String, Identity> cidrIdentities) {
        for (var e : cidrIdentities.entrySet()) {
            entries.put(e.getKey(), new IpcacheEntry(e.getKey(), e.getValue().id(), "policy-cidr"));
        }
        return this;
    }

    IpcacheBuilder host(List<String> hostAddresses) {
        for (String a : hostAddresses) {
            String ip = IpAddresses.parse(a);
            if (ip != null && !IpAddresses.isLinkLocal(ip)) {
                entries.put(IpAddresses.hostPrefix(ip), new IpcacheEntry(IpAddresses.hostPrefix(ip), ReservedIdentity.HOST.id(), "host"));
            }
        }
        return this;
    }

    /** Other nodes' endpoints; those {@code memo} saw in the last pass keep their entries (one change among many). */
    IpcacheBuilder remote(List<RemoteEndpoint> remote, RemoteMemo memo) {
        Map<RemoteEndpoint, IpcacheEntry> next = new HashMap<>((int) (remote.size() / 0.75f) + 1);
        for (RemoteEndpoint r : remote) {
            IpcacheEntry e = memo.entries.get(r);
            if (e == null) {
                String ip = IpAddresses.parse(r.ip());
                if (ip == null) continue;
                String prefix = IpAddresses.hostPrefix(ip);
                e = new IpcacheEntry(prefix, r.identity(), r.source());
            }
            next.put(r, e);
            entries.put(e.prefix(), e);
        }
        memo.entries = next;
        return this;
    }

    /** The ipcache entries of the remote endpoints of the last pass; used by the regeneration thread only. */
    static final class RemoteMemo {
        private Map<RemoteEndpoint, IpcacheEntry> entries = Map.of();
    }

    IpcacheBuilder endpoint(long endpointId, long identity, List<String> addresses) {
        for (String ip : addresses) {
            String prefix = IpAddresses.hostPrefix(ip);
            entries.put(prefix, new IpcacheEntry(prefix, identity, "endpoint:" + endpointId));
        }
        return this;
    }

    List<IpcacheEntry> build() {
        return List.copyOf(entries.values());
    }
}
