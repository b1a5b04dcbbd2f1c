package io.septum.observer.internal;

import io.septum.api.Endpoint;
import io.septum.api.EndpointIndex;
import io.septum.api.EndpointSnapshot;
import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEventListener;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowSink;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.RuleRef;
import io.septum.support.config.AgentDirs;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The DS face of the {@link Observer}: receives datapath events (whiteboard) and serves {@link FlowObserver}.
 * Every service it enriches from is optional and dynamic: flows keep coming while a component restarts, with
 * fewer names.
 */
@Component(service = {DatapathEventListener.class, FlowObserver.class, FlowSink.class, io.septum.api.flow.PolicySuggester.class},
        immediate = true,
        configurationPid = ObserverComponent.PID)
public final class ObserverComponent extends Observer implements io.septum.api.flow.PolicySuggester {
    public static final String PID = "io.septum.observer";
    /** The service property of cluster mode's {@code ClusterInfo} that names this node. */
    static final String NODE_NAME_PROPERTY = "septum.node.name";

    @ObjectClassDefinition(name = "Septum flow observer", description = "Flows from datapath events: ring and on-disk log")
    public @interface Config {
        @AttributeDefinition(description = "Flows kept in memory (the ring)")
        int maxFlows() default 8192;

        @AttributeDefinition(description = "Events waiting for enrichment before new ones are dropped (counted)")
        int queueSize() default 16384;

        @AttributeDefinition(description = "Flows queued per follow client before its flows are dropped")
        int followQueueSize() default 4096;

        @AttributeDefinition(description = "Keep flows on disk under ${septum.state.dir}/flows")
        boolean logEnabled() default true;

        @AttributeDefinition(description = "Directory of the flow log; empty means ${septum.state.dir}/flows")
        String logDir() default "";

        @AttributeDefinition(description = "Total size of the flow log in MiB; the oldest segments go first")
        long logMaxMiB() default 64;

        @AttributeDefinition(description = "Size of one segment of the flow log in MiB")
        long logSegmentMiB() default 8;

        @AttributeDefinition(description = "The most flows a query over the flow log answers when it asks for every "
                + "one (no last N): the newest")
        int logQueryMaxFlows() default Observer.LOG_QUERY_MAX_FLOWS;

        // nodeName (io.septum.observer) is read from the raw properties: an attribute here would put its empty
        // default into the descriptor. In cluster mode the node's name comes from ClusterInfo (bindClusterInfo).
    }

    /**
     * In cluster mode, flows carry the node name cluster mode registered under (ClusterInfo's service property), so
     * that they match the node registry. Reading io.septum.cluster here as a second configuration pid did not work:
     * the agent's SCR delivered that pid to the other bundles but never to this component.
     */
    @Reference(service = io.septum.api.ClusterInfo.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindClusterInfo")
    void bindClusterInfo(io.septum.api.ClusterInfo info, java.util.Map<String, Object> props) {
        Object name = props.get(NODE_NAME_PROPERTY);
        if (name != null && !name.toString().isBlank()) setNodeName(name.toString().strip());
    }

    void unbindClusterInfo(io.septum.api.ClusterInfo info) {
        setNodeName(null);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile EndpointIndex endpointIndex;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile IdentityAllocator identityAllocator;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicyRepository policyRepository;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile Datapath datapath;

    @Activate
    public ObserverComponent(BundleContext ctx, Config cfg, java.util.Map<String, Object> properties) {
        super(settings(ctx, cfg, properties == null ? null : properties.get("nodeName")));
        setLookup(new Enricher.Lookup() {
            @Override
            public EndpointSnapshot endpoints() {
                EndpointIndex index = endpointIndex;
                return index == null ? EndpointSnapshot.EMPTY : index.snapshot();
            }

            @Override
            public Optional<Identity> identity(long id) {
                IdentityAllocator ids = identityAllocator;
                return ids == null ? Optional.empty() : ids.get(id);
            }

            @Override
            public Optional<RuleRef> rule(int id) {
                PolicyRepository repo = policyRepository;
                return repo == null ? Optional.empty() : repo.current().rule(id);
            }

            @Override
            public List<BpfPolicyEntry> policy(long endpointId) {
                Datapath dp = datapath;
                return dp == null ? List.of() : dp.policy(endpointId);
            }
        });
        setLostEvents(() -> {
            Datapath dp = datapath;
            return dp == null ? 0 : dp.stats().eventsLost();
        });
        start();
    }

    private static Settings settings(BundleContext ctx, Config cfg, Object nodeName) {
        Path dir = cfg.logDir().isBlank() ? AgentDirs.stateDir(ctx::getProperty).resolve("flows") : Path.of(cfg.logDir());
        if (cfg.maxFlows() < 1) throw new IllegalArgumentException(PID + ": maxFlows must be at least 1");
        if (cfg.logEnabled() && cfg.logMaxMiB() < 1) throw new IllegalArgumentException(PID + ": logMaxMiB must be at least 1");
        if (cfg.logQueryMaxFlows() < 1) throw new IllegalArgumentException(PID + ": logQueryMaxFlows must be at least 1");
        return new Settings(cfg.maxFlows(), Math.max(16, cfg.queueSize()), Math.max(16, cfg.followQueueSize()),
                cfg.logEnabled() ? dir : null, cfg.logMaxMiB() << 20, Math.max(1, cfg.logSegmentMiB()) << 20,
                nodeName == null || nodeName.toString().isBlank() ? hostName() : nodeName.toString().strip(),
                cfg.logQueryMaxFlows());
    }

    /** The default node name, as cluster mode's: the host name. */
    static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            String h = System.getenv("HOSTNAME");
            return h == null || h.isBlank() ? "localhost" : h;
        }
    }

    @Override
    public java.util.Map<String, Object> suggest(String endpoint, java.time.Instant since) {
        return new Suggester(this, q -> {
            EndpointIndex index = endpointIndex;
            if (index == null) throw new IllegalStateException("the endpoint manager is not running");
            return index.snapshot().byName(q);
        }).suggest(endpoint, since);
    }

    @Deactivate
    void deactivate() {
        close();
    }
}
