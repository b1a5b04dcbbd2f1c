package io.septum.webui.internal;

import io.septum.api.EndpointManager;
import io.septum.api.flow.FlowObserver;
import io.septum.api.policy.PolicyRepository;
import java.util.Map;

/**
 * The services the UI reads and, through the workbench, changes. The DS component answers from its dynamic references and throws a 503
 * {@link UiException} naming a missing one; tests answer from fakes.
 */
interface UiBackend {
    EndpointManager endpointManager();

    PolicyRepository policyRepository();

    FlowObserver flowObserver();

    /** Every node's flows ({@code cluster=true}); the relay answers this node's alone when standalone. */
    default io.septum.api.flow.FlowRelay flowRelay() {
        throw UiException.unavailable("the flow relay (septum-api-server's peer flow component)");
    }

    /** Parses and validates drafts ({@code /api/policy/validate} and every route that takes a draft). */
    default io.septum.api.policy.PolicyEngine policyEngine() {
        throw UiException.unavailable("the policy engine (bundle septum-policy)");
    }

    /** Judges drafts against recorded flows and what is in force. */
    default io.septum.api.flow.PolicyImpact policyImpact() {
        throw UiException.unavailable("policy impact (bundle septum-observer)");
    }

    /** The policy history: revisions, stage/promote, rollback. */
    default io.septum.api.policy.PolicyHistory policyHistory() {
        throw UiException.unavailable("the policy history (bundle septum-policy)");
    }

    /** Cluster mode's policies (in etcd, enforced by every node); a 503 when the node runs standalone. */
    default io.septum.api.policy.ClusterPolicies clusterPolicies() {
        throw UiException.unavailable("cluster policies (cluster mode is off: no etcdEndpoints in etc/io.septum.cluster.cfg)");
    }

    /** Drafts from observed flows. */
    default io.septum.api.flow.PolicySuggester policySuggester() {
        throw UiException.unavailable("the policy suggester (bundle septum-observer)");
    }

    /**
     * Packets each rule decided, by rule id, or null when no source of hit counts is running (the UI then shows
     * "-"). Today they are the datapath's per-entry counters summed by rule; a dedicated per-rule counter service
     * can take over here without the front-end noticing.
     */
    Map<Integer, Long> ruleHits();
}
