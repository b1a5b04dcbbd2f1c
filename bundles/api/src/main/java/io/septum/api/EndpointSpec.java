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
        Map<String, String> externalIds) {
    public EndpointSpec {
        if (sourceId == null || sourceId.isBlank()) throw new IllegalArgumentException("sourceId is required");
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
        externalIds = externalIds == null ? Map.of() : Map.copyOf(externalIds);
    }
}
