package io.septum.cli.connectivity;

import io.septum.api.AgentStatus;
import io.septum.api.Endpoint;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.TestCase;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The agents a case runs against, as {@link CaseRunner} uses them: the one running agent ({@link SingleAgent}),
 * or the agents of a multi-node lab ({@link ClusterRuntime}). Whatever a case changes in them is undone by
 * {@link #close()}, which never throws.
 */
public interface LabAgents extends AutoCloseable {
    /** The status of the agent that speaks for the others (its enforcement mode judges the case offline). */
    AgentStatus status();

    /** Why the case cannot run against these agents (it would replace someone else's policy), or null. */
    String conflicts(List<PolicyInfo> parsed);

    /** Removes endpoints that earlier runs left in the agents; returns their names. */
    List<String> removeLeftovers();

    /**
     * Makes the agents forget what their DNS proxies learned for these names (the case's external hosts), so that a
     * case's {@code toFQDNs} verdicts never depend on an earlier run. Agents without a DNS proxy have nothing to
     * forget.
     */
    default void forgetNames(List<String> names) {
    }

    void setNamespaceLabels(String namespace, Map<String, String> labels);

    /** Makes the agent of {@code node}'s host manage it as {@code endpoint}. */
    void register(LabRuntime lab, NetLab.Node node, TestCase.Endpoint endpoint);

    List<AgentSession.Registered> registered();

    /** Waits until every registered endpoint is ready; returns them as the agents see them. */
    List<Endpoint> awaitReady(Duration timeout);

    /**
     * Imports the case's policies ({@code yaml} may be blank: nothing to import) and waits until every agent
     * enforces them on every endpoint of the case, and knows every endpoint it must know; returns the revision
     * for the progress line.
     */
    long enforce(String origin, String yaml, List<PolicyInfo> parsed, Duration timeout);

    @Override
    void close();
}
