package io.septum.api.flow;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One side of a flow, as Hubble names it: endpoint id ({@code ID}, 0 when not a local endpoint), security
 * identity, namespace, name ({@code pod_name} in Hubble's JSON) and labels ({@code source:key=value}).
 */
public record FlowEndpoint(
        @JsonProperty("ID") long id,
        @JsonProperty("identity") long identity,
        @JsonProperty("namespace") String namespace,
        @JsonProperty("pod_name") String name,
        @JsonProperty("labels") List<String> labels) {
    public FlowEndpoint {
        labels = labels == null ? List.of() : List.copyOf(labels);
    }

    /** {@code namespace/name}, or null when this side is not a known endpoint. */
    public String qualifiedName() {
        if (name == null || name.isEmpty()) return null;
        return namespace == null || namespace.isEmpty() ? name : namespace + "/" + name;
    }
}
