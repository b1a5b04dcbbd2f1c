package io.septum.api;

import java.util.List;
import java.util.Map;

/**
 * What a source says about one endpoint. The endpoint manager turns it into an {@link Endpoint}.
 *
 * @param sourceId      the source's own key for it, unique within the source
 * @param name          a readable name
 * @param namespace     the namespace; null means the agent's default. Sources take it from configuration,
 *                      never from a workload's own labels.
 * @param labels        key to value, without a source prefix: the manager prefixes the source's name.
 *                      A key naming another source, {@code reserved:}, or the namespace label is refused.
 * @param interfaceName host-side interface (veth/tap) to enforce on; null for cgroup endpoints
 * @param netns         network namespace path or name, if any
 * @param addresses     IP addresses; empty means "discover them in the namespace"
 * @param cgroupPath    cgroup v2 path for cgroup endpoints, else null
 * @param externalIds   the source's own identifiers
 * @param ports         its named ports (Kubernetes {@code containerPort} names, a netns declaration...): policies
 *                      that name a port resolve it here; a name declared twice for one protocol keeps the first
 */
public record EndpointSpec(
        String sourceId,
        String name,
        String namespace,
        Map<String, String> labels,
        String interfaceName,
        String netns,
        List<String> addresses,
        String cgroupPath,
        Map<String, String> externalIds,
        List<NamedPort> ports) {
    /** A spec without named ports. */
    public EndpointSpec(String sourceId, String name, String namespace, Map<String, String> labels,
                        String interfaceName, String netns, List<String> addresses, String cgroupPath,
                        Map<String, String> externalIds) {
        this(sourceId, name, namespace, labels, interfaceName, netns, addresses, cgroupPath, externalIds, List.of());
    }

    public EndpointSpec {
        if (sourceId == null || sourceId.isBlank()) throw new IllegalArgumentException("sourceId is required");
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
        externalIds = externalIds == null ? Map.of() : Map.copyOf(externalIds);
        ports = ports == null ? List.of() : List.copyOf(ports);
    }

    /** This spec with {@code namedPorts} as its named ports. */
    public EndpointSpec withPorts(List<NamedPort> namedPorts) {
        return new EndpointSpec(sourceId, name, namespace, labels, interfaceName, netns, addresses, cgroupPath,
                externalIds, namedPorts);
    }
}
