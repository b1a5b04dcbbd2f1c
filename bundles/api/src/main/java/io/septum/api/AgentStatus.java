package io.septum.api;

import java.util.List;

/**
 * What {@code septum status} prints.
 *
 * @param startToReadyMillis time from JVM start to the ready marker, or -1 if not ready
 */
public record AgentStatus(
        String version,
        boolean ready,
        long uptimeMillis,
        long startToReadyMillis,
        String enforcementMode,
        long policyRevision,
        int endpoints,
        int identities,
        List<ComponentStatus> components,
        List<SourceHealth> sources) {
    public AgentStatus {
        components = components == null ? List.of() : List.copyOf(components);
        sources = sources == null ? List.of() : List.copyOf(sources);
    }
}
