package io.septum.endpoints.internal;

import io.septum.api.Identity;
import io.septum.api.IpcacheEntry;
import io.septum.api.ReservedIdentity;
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

    /** Other nodes' endpoints (cluster mode). */
    IpcacheBuilder remote(RemoteIpcache remote) {
        for (IpcacheEntry e : remote.entries()) entries.put(e.prefix(), e);
        return this;
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
