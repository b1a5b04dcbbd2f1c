package io.septum.endpoints.internal;

import io.septum.api.NamedPort;
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
 * superset of Kubernetes' per-pod answer, said in docs/policy.md). Remote endpoints carry no names yet.
 */
final class NamedPorts {
    private NamedPorts() {
    }

    /** Call under the manager's lock; endpoints without an identity, or refused, name nothing. */
    static Map<Long, List<NamedPort>> byIdentity(Collection<ManagedEndpoint> endpoints) {
        List<ManagedEndpoint> sorted = new ArrayList<>(endpoints);
        sorted.sort(Comparator.comparingLong(e -> e.id)); // the same order every pass: entries compare equal
        Map<Long, List<NamedPort>> out = new HashMap<>();
        for (ManagedEndpoint ep : sorted) {
            if (ep.identity == null || ep.refusal != null || ep.namedPorts().isEmpty()) continue;
            List<NamedPort> list = out.computeIfAbsent(ep.identity.id(), k -> new ArrayList<>());
            for (NamedPort p : ep.namedPorts()) if (!list.contains(p)) list.add(p);
        }
        out.replaceAll((k, v) -> List.copyOf(v));
        return Map.copyOf(out);
    }
}
