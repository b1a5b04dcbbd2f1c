package io.septum.webui.internal;

import io.septum.api.EndpointManager;
import io.septum.api.flow.FlowObserver;
import io.septum.api.policy.PolicyRepository;
import java.util.Map;

/**
 * The services the UI reads and, through the workbench, changes. The DS component answers {@link #find} from its
 * dynamic references; tests answer from fakes the same way. A getter whose service is absent throws a 503
 * {@link UiException} naming it, so that the routes stay up while a component restarts.
 */
interface UiBackend {
    /** The bound service of this type, or null while there is none. */
    <T> T find(Class<T> type);

    /** The bound service of this type, or the 503 that names it ({@code what}): one message per service, here. */
    private <T> T need(Class<T> type, String what) {
        T service = find(type);
        if (service == null) throw UiException.unavailable(what);
        return service;
    }

    default EndpointManager endpointManager() {
        return need(EndpointManager.class, "the endpoint manager");
    }

    default PolicyRepository policyRepository() {
        return need(PolicyRepository.class, "the policy repository");
    }

    default FlowObserver flowObserver() {
        return need(FlowObserver.class, "the flow observer (bundle septum-observer)");
    }

    /** Every node's flows ({@code cluster=true}); the relay answers this node's alone when standalone. */
    default io.septum.api.flow.FlowRelay flowRelay() {
        return need(io.septum.api.flow.FlowRelay.class, "the flow relay (septum-api-server's peer flow component)");
    }

    /** Parses and validates drafts ({@code /api/policy/validate} and every route that takes a draft). */
    default io.septum.api.policy.PolicyEngine policyEngine() {
        return need(io.septum.api.policy.PolicyEngine.class, "the policy engine (bundle septum-policy)");
    }

    /** Judges drafts against recorded flows and what is in force. */
    default io.septum.api.flow.PolicyImpact policyImpact() {
        return need(io.septum.api.flow.PolicyImpact.class, "policy impact (bundle septum-observer)");
    }

    /** The policy history: revisions, stage/promote, rollback. */
    default io.septum.api.policy.PolicyHistory policyHistory() {
        return need(io.septum.api.policy.PolicyHistory.class, "the policy history (bundle septum-policy)");
    }

    /** Cluster mode's policies (in etcd, enforced by every node); a 503 when the node runs standalone. */
    default io.septum.api.policy.ClusterPolicies clusterPolicies() {
        return need(io.septum.api.policy.ClusterPolicies.class,
                "cluster policies (cluster mode is off: no etcdEndpoints in etc/io.septum.cluster.cfg)");
    }

    /** Drafts from observed flows. */
    default io.septum.api.flow.PolicySuggester policySuggester() {
        return need(io.septum.api.flow.PolicySuggester.class, "the policy suggester (bundle septum-observer)");
    }

    /**
     * Packets each rule decided, by rule id, or null when no source of hit counts is running (the UI then shows
     * "-"). Today they are the datapath's per-entry counters summed by rule; a dedicated per-rule counter service
     * can take over here without the front-end noticing.
     */
    Map<Integer, Long> ruleHits();
}
