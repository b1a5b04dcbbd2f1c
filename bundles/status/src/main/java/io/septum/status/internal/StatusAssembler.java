package io.septum.status.internal;

import io.septum.api.AgentStatus;
import io.septum.api.AgentStatusService;
import io.septum.api.ComponentStatus;
import io.septum.api.EndpointManager;
import io.septum.api.HealthReporter;
import io.septum.api.IdentityAllocator;
import io.septum.api.SourceHealth;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowStats;
import io.septum.api.policy.PolicyRepository;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Assembles the agent's {@link AgentStatus} from what {@link Sources} can see now. A missing service is a failed
 * line ("not running"), a service that throws is a failed line with what it threw: status never fails itself.
 * Plain code with no OSGi in it, so that the component and the tests of the front ends use the same assembly.
 */
public final class StatusAssembler implements AgentStatusService {
    /** What the status is made of; a service getter returns null when the service is absent. */
    public interface Sources {
        PolicyRepository policyRepository();

        EndpointManager endpointManager();

        IdentityAllocator identityAllocator();

        boolean datapathRunning();

        FlowObserver flowObserver();

        /** Every health line, each component's own ({@code api-server}, {@code proxy}, {@code metrics}, ...). */
        List<HealthReporter> healthReporters();

        /** Epoch millis at which the agent became ready, if it is. */
        OptionalLong readySince();

        /** Epoch millis at which the JVM started. */
        long startedAt();

        String version();
    }

    private static final String NOT_RUNNING = "not running";
    private final Sources sources;

    public StatusAssembler(Sources sources) {
        this.sources = sources;
    }

    @Override
    public AgentStatus status() {
        OptionalLong ready = sources.readySince();
        long now = System.currentTimeMillis();
        String mode = "unknown";
        long revision = -1;
        int endpoints = 0;
        int identities = 0;
        List<ComponentStatus> components = new ArrayList<>();
        List<SourceHealth> sourceHealth = List.of();
        try {
            PolicyRepository repo = sources.policyRepository();
            if (repo == null) {
                components.add(ComponentStatus.failed("policy", NOT_RUNNING));
            } else {
                mode = String.valueOf(repo.mode());
                revision = repo.revision();
            }
        } catch (RuntimeException e) {
            components.add(ComponentStatus.failed("policy", e.toString()));
        }
        try {
            EndpointManager em = sources.endpointManager();
            if (em == null) {
                components.add(ComponentStatus.failed("endpoints", NOT_RUNNING));
            } else {
                endpoints = em.list().size();
                sourceHealth = em.sources();
            }
        } catch (RuntimeException e) {
            components.add(ComponentStatus.failed("endpoints", e.toString()));
        }
        try {
            IdentityAllocator ids = sources.identityAllocator();
            if (ids == null) components.add(ComponentStatus.failed("identity", NOT_RUNNING));
            else identities = ids.list().size();
        } catch (RuntimeException e) {
            components.add(ComponentStatus.failed("identity", e.toString()));
        }
        if (!sources.datapathRunning()) components.add(ComponentStatus.failed("datapath", NOT_RUNNING));
        for (HealthReporter r : List.copyOf(sources.healthReporters())) {
            try {
                ComponentStatus s = r.health();
                if (s != null) components.add(s);
            } catch (RuntimeException e) {
                components.add(ComponentStatus.failed(r.getClass().getSimpleName(), "health check threw " + e));
            }
        }
        FlowStats flows = null;
        FlowObserver observer = sources.flowObserver();
        if (observer != null) {
            try {
                flows = observer.stats();
            } catch (RuntimeException e) {
                components.add(ComponentStatus.failed("observer", e.toString()));
            }
        }
        long started = sources.startedAt();
        return new AgentStatus(sources.version(), ready.isPresent(), now - started,
                ready.isPresent() ? Math.max(0, ready.getAsLong() - started) : -1,
                mode, revision, endpoints, identities, components, sourceHealth, flows);
    }
}
