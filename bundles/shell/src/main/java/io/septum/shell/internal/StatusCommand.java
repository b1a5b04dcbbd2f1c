package io.septum.shell.internal;

import io.septum.api.AgentReady;
import io.septum.api.AgentStatus;
import io.septum.api.ComponentStatus;
import io.septum.api.EndpointManager;
import io.septum.api.HealthReporter;
import io.septum.api.IdentityAllocator;
import io.septum.api.SourceHealth;
import io.septum.api.datapath.Datapath;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.view.Views;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/** {@code status} (scope {@code septum}): the agent's health, as {@code septum status} prints it. */
@Component(service = StatusCommand.class)
@GogoCommand(scope = "septum", function = "status")
public final class StatusCommand extends ShellSupport {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile EndpointManager endpoints;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile IdentityAllocator identities;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile PolicyRepository repository;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile Datapath datapath;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile AgentReady ready;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    volatile List<HealthReporter> reporters;

    private final String version;
    private final long startedAt;

    @Activate
    public StatusCommand(BundleContext ctx) {
        this(version(ctx), jvmStart(ctx));
    }

    StatusCommand(String version, long startedAt) {
        this.version = version;
        this.startedAt = startedAt;
    }

    /** The launcher's measure of JVM start when it gives one, so that status agrees with its log. */
    private static long jvmStart(BundleContext ctx) {
        String p = ctx.getProperty("septum.jvm.start.millis");
        if (p != null) {
            try {
                return Long.parseLong(p.trim());
            } catch (NumberFormatException ignored) {
                // fall back to the JVM's own figure
            }
        }
        return ManagementFactory.getRuntimeMXBean().getStartTime();
    }

    private static String version(BundleContext ctx) {
        String v = ctx.getProperty("septum.version");
        return v != null ? v : ctx.getBundle().getVersion().toString();
    }

    @Descriptor("Show the agent's health: readiness, start-to-ready time, components, endpoint sources")
    public void status(
            @Descriptor(OUTPUT_DESCRIPTION) @Parameter(names = {"-o", "--output"}, absentValue = "table") String output) {
        AgentStatus s = status();
        print(output, s, () -> Views.status(s));
    }

    AgentStatus status() {
        List<ComponentStatus> components = new ArrayList<>();
        String mode = "unknown";
        long revision = -1;
        int eps = 0;
        int ids = 0;
        List<SourceHealth> sources = List.of();
        PolicyRepository repo = repository;
        EndpointManager em = endpoints;
        IdentityAllocator ia = identities;
        try {
            if (repo == null) components.add(ComponentStatus.failed("policy", "not running"));
            else {
                mode = String.valueOf(repo.mode());
                revision = repo.revision();
            }
            if (em == null) components.add(ComponentStatus.failed("endpoints", "not running"));
            else {
                eps = em.list().size();
                sources = em.sources();
            }
            if (ia == null) components.add(ComponentStatus.failed("identity", "not running"));
            else ids = ia.list().size();
        } catch (RuntimeException e) {
            components.add(ComponentStatus.failed("status", e.toString()));
        }
        if (datapath == null) components.add(ComponentStatus.failed("datapath", "not running"));
        List<HealthReporter> hr = reporters;
        if (hr != null) {
            for (HealthReporter r : List.copyOf(hr)) {
                try {
                    ComponentStatus c = r.health();
                    if (c != null) components.add(c);
                } catch (RuntimeException e) {
                    components.add(ComponentStatus.failed(r.getClass().getSimpleName(), "health check threw " + e));
                }
            }
        }
        AgentReady r = ready;
        long now = System.currentTimeMillis();
        return new AgentStatus(version, r != null, now - startedAt, r == null ? -1 : Math.max(0, r.readySince() - startedAt),
                mode, revision, eps, ids, components, sources);
    }
}
