package io.septum.testsupport;

import io.septum.api.Labels;
import io.septum.api.policy.Decision;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.RuleRef;
import io.septum.api.policy.TraceResult;
import java.util.List;
import java.util.Optional;

/**
 * A policy set for tests that need one without the policy engine: it holds no policies, names no rule and no CIDR,
 * and refuses what a test did not override (merge, without, resolve, decide, trace) with
 * {@link UnsupportedOperationException}, so that a call the test did not expect fails loudly.
 */
public interface StubPolicySet extends PolicySet {
    @Override
    default List<PolicyInfo> policies() {
        return List.of();
    }

    @Override
    default PolicySet merge(PolicySet newer, long revision) {
        throw new UnsupportedOperationException("merge (stub policy set)");
    }

    @Override
    default Optional<PolicySet> without(String namespace, String name) {
        throw new UnsupportedOperationException("without (stub policy set)");
    }

    @Override
    default io.septum.api.policy.EndpointPolicy resolve(Labels subject, java.util.Collection<io.septum.api.Identity> universe,
                                                        EnforcementMode mode) {
        throw new UnsupportedOperationException("resolve (stub policy set)");
    }

    @Override
    default Decision decide(Direction direction, Labels subject, Labels peer, int port, Protocol protocol,
                            EnforcementMode mode) {
        throw new UnsupportedOperationException("decide (stub policy set)");
    }

    @Override
    default List<String> cidrPrefixes() {
        return List.of();
    }

    @Override
    default Optional<RuleRef> rule(int id) {
        return Optional.empty();
    }

    @Override
    default TraceResult trace(Labels source, Labels destination, int port, Protocol protocol, EnforcementMode mode) {
        throw new UnsupportedOperationException("trace (stub policy set)");
    }
}
