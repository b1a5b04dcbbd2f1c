package io.septum.api;

import io.septum.api.flow.FlowStats;
import java.util.List;

/**
 * What {@code septum status} prints.
 *
 * @param startToReadyMillis time from JVM start to the ready marker, or -1 if not ready
 * @param flows              the flow observer's figures, null when no observer runs
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
        List<SourceHealth> sources,
        FlowStats flows) {
    public AgentStatus {
        components = components == null ? List.of() : List.copyOf(components);
        sources = sources == null ? List.of() : List.copyOf(sources);
    }

    /** Without flow figures (the constructor before the observer existed). */
    public AgentStatus(String version, boolean ready, long uptimeMillis, long startToReadyMillis, String enforcementMode,
                       long policyRevision, int endpoints, int identities, List<ComponentStatus> components,
                       List<SourceHealth> sources) {
        this(version, ready, uptimeMillis, startToReadyMillis, enforcementMode, policyRevision, endpoints, identities,
                components, sources, null);
    }

    /** This status with the flow observer's figures. */
    public AgentStatus withFlows(FlowStats stats) {
        return new AgentStatus(version, ready, uptimeMillis, startToReadyMillis, enforcementMode, policyRevision,
                endpoints, identities, components, sources, stats);
    }
}
