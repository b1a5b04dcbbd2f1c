package io.septum.apiserver.internal;

import io.septum.api.AgentStatusService;
import io.septum.api.ComponentStatus;
import io.septum.api.EndpointManager;
import io.septum.api.HealthReporter;
import io.septum.api.IdentityAllocator;
import io.septum.api.flow.FlowObserver;
import io.septum.api.policy.PolicyRepository;
import io.septum.status.internal.StatusAssembler;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Supplier;

/** The status service of the tests: the real assembly (septum-status) over a fake backend's services. */
final class TestStatus {
    private TestStatus() {
    }

    static AgentStatusService of(ApiServerSocketTest.EmptyBackend b, Supplier<List<ComponentStatus>> health) {
        return new StatusAssembler(new StatusAssembler.Sources() {
            @Override
            public PolicyRepository policyRepository() {
                return b.has(PolicyRepository.class) ? b.policyRepository() : null;
            }

            @Override
            public EndpointManager endpointManager() {
                return b.has(EndpointManager.class) ? b.endpointManager() : null;
            }

            @Override
            public IdentityAllocator identityAllocator() {
                return b.has(IdentityAllocator.class) ? b.identityAllocator() : null;
            }

            @Override
            public boolean datapathRunning() {
                return b.has(io.septum.api.datapath.Datapath.class);
            }

            @Override
            public FlowObserver flowObserver() {
                return b.has(FlowObserver.class) ? b.flowObserver() : null;
            }

            @Override
            public List<HealthReporter> healthReporters() {
                return health.get().stream().filter(java.util.Objects::nonNull).map(s -> (HealthReporter) () -> s).toList();
            }

            @Override
            public OptionalLong readySince() {
                return b.readySince();
            }

            @Override
            public long startedAt() {
                return b.startedAt();
            }

            @Override
            public String version() {
                return b.version();
            }
        });
    }
}
