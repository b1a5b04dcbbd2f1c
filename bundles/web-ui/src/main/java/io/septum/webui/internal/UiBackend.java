package io.septum.webui.internal;

import io.septum.api.EndpointManager;
import io.septum.api.flow.FlowObserver;
import io.septum.api.policy.PolicyRepository;
import java.util.Map;

/**
 * The services the UI reads. The DS component answers from its dynamic references and throws a 503
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

    /**
     * Packets each rule decided, by rule id, or null when no source of hit counts is running (the UI then shows
     * "-"). Today they are the datapath's per-entry counters summed by rule; a dedicated per-rule counter service
     * can take over here without the front-end noticing.
     */
    Map<Integer, Long> ruleHits();
}
