package io.septum.webui.internal;

import io.septum.api.EndpointManager;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowRelay;
import io.septum.api.flow.PolicyImpact;
import io.septum.api.flow.PolicySuggester;
import io.septum.api.policy.ClusterPolicies;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyHistory;
import io.septum.api.policy.PolicyRepository;
import java.util.Map;

/**
 * The services the UI reads and, through the workbench, changes. The DS component answers {@link #find} from its
 * dynamic references; tests answer from fakes the same way. {@link #need} throws a 503 {@link UiException} naming an
 * absent service, so that the routes stay up while a component restarts.
 */
interface UiBackend {
    /** What the 503 names for each service the UI asks for: one message per service, here. */
    Map<Class<?>, String> SERVICES = Map.of(
            EndpointManager.class, "the endpoint manager",
            PolicyRepository.class, "the policy repository",
            FlowObserver.class, "the flow observer (bundle septum-observer)",
            // every node's flows (cluster=true); the relay answers this node's alone when standalone
            FlowRelay.class, "the flow relay (septum-api-server's peer flow component)",
            // parses and validates drafts (/api/policy/validate and every route that takes a draft)
            PolicyEngine.class, "the policy engine (bundle septum-policy)",
            // judges drafts against recorded flows and what is in force
            PolicyImpact.class, "policy impact (bundle septum-observer)",
            // revisions, stage/promote, rollback
            PolicyHistory.class, "the policy history (bundle septum-policy)",
            // cluster mode's policies (in etcd, enforced by every node): a 503 when the node runs standalone
            ClusterPolicies.class, "cluster policies (cluster mode is off: no etcdEndpoints in etc/io.septum.cluster.cfg)",
            // drafts from observed flows
            PolicySuggester.class, "the policy suggester (bundle septum-observer)");

    /** The bound service of this type, or null while there is none. */
    <T> T find(Class<T> type);

    /** The bound service of this type (one of {@link #SERVICES}), or the 503 that names it. */
    default <T> T need(Class<T> type) {
        T service = find(type);
        if (service == null) throw UiException.unavailable(SERVICES.get(type));
        return service;
    }

    /**
     * Packets each rule decided, by rule id, or null when no source of hit counts is running (the UI then shows
     * "-"). Today they are the datapath's per-entry counters summed by rule; a dedicated per-rule counter service
     * can take over here without the front-end noticing.
     */
    Map<Integer, Long> ruleHits();
}
