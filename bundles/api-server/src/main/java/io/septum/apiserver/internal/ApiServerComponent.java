package io.septum.apiserver.internal;

import io.septum.api.AgentStatusService;
import io.septum.api.ComponentStatus;
import io.septum.api.EndpointManager;
import io.septum.api.HealthReporter;
import io.septum.api.IdentityAllocator;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.datapath.DatapathEventListener;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowSink;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowRelay;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyRepository;
import io.septum.support.config.AgentDirs;
import java.nio.file.Path;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Serves the REST API for as long as the bundle runs. Every service reference is optional and dynamic: the API
 * (and {@code septum status} above all) must answer while a component is missing or restarting, and say which.
 * It is also the {@link DatapathEventListener} that feeds {@code /v1/monitor} streams, and the {@link HealthReporter}
 * of the server's own line in status. {@code /v1/status} asks the {@link AgentStatusService} (bundle septum-status),
 * which the console's {@code status} asks too, so that they agree.
 */
@Component(service = {DatapathEventListener.class, HealthReporter.class, FlowSink.class}, immediate = true,
        configurationPid = ApiServerComponent.PID)
@Designate(ocd = ApiServerComponent.Config.class)
public final class ApiServerComponent implements DatapathEventListener, HealthReporter, Backend, FlowSink {
    public static final String PID = "io.septum.apiserver";

    @ObjectClassDefinition(name = "Septum API server", description = "The REST API on a unix domain socket")
    public @interface Config {
        @AttributeDefinition(description = "Socket path; empty means ${septum.run.dir}/septum.sock")
        String socketPath() default "";

        @AttributeDefinition(description = "Group that may use the socket (mode 0660); empty keeps the agent's group")
        String socketGroup() default "";

        @AttributeDefinition(description = "Group whose members may change the agent (besides root); reading needs only"
                + " the socket's group; empty: root only")
        String adminGroup() default WriteAccess.DEFAULT_ADMIN_GROUP;

        @AttributeDefinition(description = "Connections served at once; more are answered 503")
        int maxConnections() default 16;

        @AttributeDefinition(description = "Milliseconds to receive a request, and to write each part of an answer")
        long ioTimeoutMillis() default 10_000;

        @AttributeDefinition(description = "Events queued per monitor client before its events are dropped")
        int monitorQueueSize() default 4096;

        @AttributeDefinition(description = "Monitor clients at once")
        int maxMonitorClients() default 8;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile EndpointManager endpointManager;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile IdentityAllocator identityAllocator;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicyRepository policyRepository;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicyEngine policyEngine;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile Datapath datapath;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile AgentStatusService statusService;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile FlowObserver flowObserver;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.service.ServiceManager serviceManager;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.flow.PolicySuggester policySuggester;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.flow.PolicyImpact policyImpact;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.policy.PolicyHistory policyHistory;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.ui.UiLogin uiLogin;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.shell.RemoteShell remoteShell;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.ClusterInfo clusterInfo;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.fqdn.FqdnCache fqdnCache;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.policy.ClusterPolicies clusterPolicies;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.RemoteEndpoints remoteEndpoints;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile FlowRelay flowRelay;

    private final MonitorHub hub;
    private final ApiRoutes routes;
    private final ApiServer server;

    @Activate
    public ApiServerComponent(BundleContext ctx, Config cfg) {
        Path socket = cfg.socketPath().isBlank() ? AgentDirs.runDir(ctx::getProperty).resolve("septum.sock")
                : Path.of(cfg.socketPath());
        if (cfg.maxConnections() < 1) throw new IllegalArgumentException(PID + ": maxConnections must be at least 1");
        if (cfg.ioTimeoutMillis() < 100) throw new IllegalArgumentException(PID + ": ioTimeoutMillis must be at least 100");
        this.hub = new MonitorHub(Math.max(16, cfg.monitorQueueSize()), Math.max(1, cfg.maxMonitorClients()));
        ApiServer.Settings settings = new ApiServer.Settings(cfg.maxConnections(), cfg.ioTimeoutMillis(),
                cfg.socketGroup().isBlank() ? null : cfg.socketGroup(), 5_000, cfg.adminGroup());
        this.routes = new ApiRoutes(this);
        this.server = new ApiServer(socket, routes, hub, settings);
        // binding happens on the server's own thread: activation never waits on the file system
        server.start();
    }

    @Deactivate
    void deactivate() {
        server.close();
    }

    @Override
    public void onEvent(DatapathEvent event) {
        hub.publish(event);
    }

    /** The L7 proxy's flows join the monitor stream as Flow JSON ({@code "event_type":"l7"}). */
    @Override
    public void accept(Flow flow) {
        hub.publish(flow);
    }

    /** The server's line in status. */
    @Override
    public ComponentStatus health() {
        return server.health();
    }

    /** The bound service of each type the routes ask for ({@link Backend} names the absent ones). */
    @Override
    public <T> T find(Class<T> type) {
        Object service = type == EndpointManager.class ? endpointManager
                : type == IdentityAllocator.class ? identityAllocator
                : type == PolicyRepository.class ? policyRepository
                : type == PolicyEngine.class ? policyEngine
                : type == Datapath.class ? datapath
                : type == AgentStatusService.class ? statusService
                : type == FlowObserver.class ? flowObserver
                : type == io.septum.api.service.ServiceManager.class ? serviceManager
                : type == io.septum.api.flow.PolicySuggester.class ? policySuggester
                : type == io.septum.api.flow.PolicyImpact.class ? policyImpact
                : type == io.septum.api.policy.PolicyHistory.class ? policyHistory
                : type == io.septum.api.ui.UiLogin.class ? uiLogin
                : type == io.septum.api.shell.RemoteShell.class ? remoteShell
                : type == io.septum.api.ClusterInfo.class ? clusterInfo
                : type == io.septum.api.fqdn.FqdnCache.class ? fqdnCache
                : type == io.septum.api.policy.ClusterPolicies.class ? clusterPolicies
                : type == io.septum.api.RemoteEndpoints.class ? remoteEndpoints
                : type == FlowRelay.class ? flowRelay
                : null;
        return type.cast(service);
    }
}
