package io.septum.endpoints.internal;

import io.septum.api.NamedPort;
import io.septum.api.RemoteEndpoint;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The named ports of every local endpoint, by identity: egress rules that name a port resolve it on each peer
 * identity. The datapath keys policy on the identity, not the pod, so endpoints that share an identity share their
 * names: when two of them give one name different numbers, egress to that name opens both numbers on both (a
 * superset of Kubernetes' per-pod answer, said in docs/policy.md). Other nodes' endpoints bring theirs through
 * the cluster's store ({@link RemoteEndpoint#namedPorts}).
 */
final class NamedPorts {
    private NamedPorts() {
    }

    /** Call under the manager's lock; endpoints without an identity, or refused, name nothing. */
    static Map<Long, List<NamedPort>> byIdentity(Collection<ManagedEndpoint> endpoints, List<RemoteEndpoint> remote) {
        List<ManagedEndpoint> sorted = new ArrayList<>(endpoints);
        sorted.sort(Comparator.comparingLong(e -> e.id)); // the same order every pass: entries compare equal
        Map<Long, List<NamedPort>> out = new HashMap<>();
        for (ManagedEndpoint ep : sorted) {
            if (ep.identity != null && ep.refusal == null) add(out, ep.identity.id(), ep.namedPorts());
        }
        List<RemoteEndpoint> others = new ArrayList<>(remote);
        others.sort(Comparator.comparing(RemoteEndpoint::node).thenComparing(RemoteEndpoint::ip));
        for (RemoteEndpoint r : others) add(out, r.identity(), r.namedPorts());
        out.replaceAll((k, v) -> List.copyOf(v));
        return Map.copyOf(out);
    }

    private static void add(Map<Long, List<NamedPort>> out, long identity, List<NamedPort> ports) {
        if (ports.isEmpty()) return;
        List<NamedPort> list = out.computeIfAbsent(identity, k -> new ArrayList<>());
        for (NamedPort p : ports) if (!list.contains(p)) list.add(p);
    }
}
