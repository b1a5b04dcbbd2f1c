package io.septum.proxy.common;

import io.septum.api.Endpoint;
import io.septum.api.EndpointSnapshot;
import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.Labels;
import io.septum.api.flow.FlowEndpoint;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * One side of a proxied connection or query, named as policy sees it: a local endpoint by address (from the
 * endpoint index's snapshot), else the identity the ipcache's longest prefix gives the address, else
 * {@code cidr:<ip>/32} plus {@code reserved:world}. Two hash lookups whatever the number of endpoints.
 *
 * @param endpoint the local endpoint, or null
 */
public record ProxyPeer(Endpoint endpoint, long identity, Labels labels, FlowEndpoint flow) {
    public static ProxyPeer of(InetAddress addr, EndpointSnapshot snap, IdentityAllocator ids) {
        Optional<Endpoint> found = snap.byIp(addr);
        if (found.isPresent()) {
            Endpoint ep = found.get();
            return new ProxyPeer(ep, ep.identity(), Labels.parse(ep.labels(), "any"),
                    new FlowEndpoint(ep.id(), ep.identity(), ep.namespace(), ep.name(), ep.labels()));
        }
        long id = snap.identityOf(addr);
        Optional<Identity> identity = id == 0 || ids == null ? Optional.empty() : ids.get(id);
        List<String> texts = identity.map(Identity::labels).orElse(List.of(
                "cidr:" + addr.getHostAddress() + (addr.getAddress().length == 4 ? "/32" : "/128"), "reserved:world"));
        long shown = id == 0 ? 2 : id;
        return new ProxyPeer(null, shown, Labels.parse(texts, "any"), new FlowEndpoint(0, shown, null, null, texts));
    }
}
