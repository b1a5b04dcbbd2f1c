package io.septum.webui.internal;

import io.septum.api.EndpointManager;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowRelay;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyHistory;
import io.septum.api.policy.PolicyRepository;
import java.util.Map;

/** The UI's services as a test sets them; one left null answers the UI's 503 naming it, as the component does. */
final class FakeBackend implements UiBackend {
    volatile EndpointManager endpoints = new WebUiServerTest.Endpoints();
    volatile PolicyRepository repository;
    volatile FlowObserver observer;
    volatile Map<Integer, Long> hits = Map.of();
    volatile FlowRelay relay;
    volatile PolicyEngine engine;
    volatile PolicyHistory history;

    @Override
    public EndpointManager endpointManager() {
        return endpoints;
    }

    @Override
    public PolicyRepository policyRepository() {
        return repository;
    }

    @Override
    public FlowObserver flowObserver() {
        return observer;
    }

    @Override
    public Map<Integer, Long> ruleHits() {
        return hits;
    }

    @Override
    public FlowRelay flowRelay() {
        return relay == null ? UiBackend.super.flowRelay() : relay;
    }

    @Override
    public PolicyEngine policyEngine() {
        return engine == null ? UiBackend.super.policyEngine() : engine;
    }

    @Override
    public PolicyHistory policyHistory() {
        return history == null ? UiBackend.super.policyHistory() : history;
    }

    /** Cluster mode's store; null: standalone. */
    volatile io.septum.api.policy.ClusterPolicies cluster;

    @Override
    public io.septum.api.policy.ClusterPolicies clusterPolicies() {
        return cluster == null ? UiBackend.super.clusterPolicies() : cluster;
    }
}
