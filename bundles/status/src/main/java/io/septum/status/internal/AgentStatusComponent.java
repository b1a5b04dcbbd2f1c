package io.septum.status.internal;

import io.septum.api.AgentReady;
import io.septum.api.AgentStatus;
import io.septum.api.AgentStatusService;
import io.septum.api.EndpointManager;
import io.septum.api.HealthReporter;
import io.septum.api.IdentityAllocator;
import io.septum.api.datapath.Datapath;
import io.septum.api.flow.FlowObserver;
import io.septum.api.policy.PolicyRepository;
import io.septum.support.config.JvmStart;
import java.util.List;
import java.util.OptionalLong;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The one {@link AgentStatusService}: every reference is optional and dynamic, because status must answer while any
 * component is missing or restarting, and say which. Health lines come from the {@link HealthReporter} whiteboard
 * (the API server's own line included). The REST API's {@code /v1/status} and the console's {@code status} both ask
 * this service, so they print the same figures.
 */
@Component(service = AgentStatusService.class, immediate = true)
public final class AgentStatusComponent implements AgentStatusService, StatusAssembler.Sources {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile EndpointManager endpointManager;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile IdentityAllocator identityAllocator;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicyRepository policyRepository;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile Datapath datapath;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile AgentReady agentReady;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile FlowObserver flowObserver;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile List<HealthReporter> healthReporters;

    private final String version;
    private final long startedAt;
    private final StatusAssembler assembler = new StatusAssembler(this);

    @Activate
    public AgentStatusComponent(BundleContext ctx) {
        String v = ctx.getProperty("septum.version");
        this.version = v != null ? v : ctx.getBundle().getVersion().toString();
        this.startedAt = JvmStart.millis(ctx::getProperty);
    }

    @Override
    public AgentStatus status() {
        return assembler.status();
    }

    @Override
    public PolicyRepository policyRepository() {
        return policyRepository;
    }

    @Override
    public EndpointManager endpointManager() {
        return endpointManager;
    }

    @Override
    public IdentityAllocator identityAllocator() {
        return identityAllocator;
    }

    @Override
    public boolean datapathRunning() {
        return datapath != null;
    }

    @Override
    public FlowObserver flowObserver() {
        return flowObserver;
    }

    @Override
    public List<HealthReporter> healthReporters() {
        List<HealthReporter> r = healthReporters;
        return r == null ? List.of() : r;
    }

    @Override
    public OptionalLong readySince() {
        AgentReady r = agentReady;
        return r == null ? OptionalLong.empty() : OptionalLong.of(r.readySince());
    }

    @Override
    public long startedAt() {
        return startedAt;
    }

    @Override
    public String version() {
        return version;
    }
}
