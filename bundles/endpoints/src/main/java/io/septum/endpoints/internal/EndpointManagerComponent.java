package io.septum.endpoints.internal;

import io.septum.api.AgentReady;
import io.septum.api.EndpointIndex;
import io.septum.api.EndpointManager;
import io.septum.api.EndpointSource;
import io.septum.api.HealthReporter;
import io.septum.api.IdentityAllocator;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.FailsafePort;
import io.septum.api.policy.Direction;
import io.septum.api.policy.PolicyListener;
import io.septum.api.policy.PolicyRepository;
import io.septum.support.config.JvmStart;
import io.septum.support.config.AgentDirs;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.time.Duration;
import java.util.Hashtable;
import java.util.logging.Logger;

/**
 * The DS face of {@link DefaultEndpointManager}: static references to the allocator, the policy repository and the
 * datapath, a dynamic whiteboard of endpoint sources, and the {@link AgentReady} marker once restore is done.
 */
@Component(configurationPid = {EndpointManagerComponent.PID, EndpointManagerComponent.CLUSTER_PID},
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {EndpointManager.class, EndpointIndex.class, HealthReporter.class})
// No @Designate: it takes exactly one pid, and this component also reads the cluster's (Config still types ours).
public final class EndpointManagerComponent extends DefaultEndpointManager {
    static final String PID = "io.septum.endpoints";
    /** Cluster mode's configuration: with etcdEndpoints, endpoints carry the cluster's name as a label. */
    static final String CLUSTER_PID = "io.septum.cluster";
    private static final Logger LOG = Logger.getLogger(EndpointManagerComponent.class.getName());

    private final BundleContext context;
    private final Path stateDir;
    private final String clusterName;
    private final Duration initialSyncTimeout;
    private volatile ServiceRegistration<AgentReady> ready;
    private final ServiceRegistration<PolicyListener> listener;
    private volatile boolean deactivated;

    @Activate
    public EndpointManagerComponent(BundleContext context, Config config, Map<String, Object> properties,
                                    @Reference(name = "identities") IdentityAllocator identities,
                                    @Reference(name = "policies") PolicyRepository policies,
                                    @Reference(name = "datapath") Datapath datapath) {
        this(context, AgentDirs.stateDir(context::getProperty), config, clusterName(properties), initialSyncTimeout(properties), identities,
                policies, datapath, new ReadyHolder());
    }

    private EndpointManagerComponent(BundleContext context, Path stateDir, Config config, String clusterName,
                                     Duration initialSyncTimeout, IdentityAllocator identities, PolicyRepository policies,
                                     Datapath datapath, ReadyHolder holder) {
        super(settings(stateDir, config, clusterName, initialSyncTimeout), identities, policies, datapath,
                new SystemHostEnv(), holder);
        this.clusterName = clusterName;
        this.initialSyncTimeout = initialSyncTimeout;
        this.context = context;
        this.stateDir = stateDir;
        // The listener is a plain service, not a DS-provided one: the repository references listeners and this
        // component references the repository, and SCR cannot bind a DS service while the two activate each other.
        this.listener = context.registerService(PolicyListener.class, this::policyChanged, null);
        holder.owner = this;
        holder.release();
    }

    /** Hands readiness to the component once its constructor is done, whichever comes first. */
    private static final class ReadyHolder implements java.util.function.LongConsumer {
        private EndpointManagerComponent owner;
        private long pending;

        @Override
        public synchronized void accept(long since) {
            if (owner == null) pending = since;
            else owner.registerReady(since);
        }

        synchronized void release() {
            if (pending != 0) owner.registerReady(pending);
        }
    }

    private static Settings settings(Path stateDir, Config c, String clusterName, Duration initialSyncTimeout) {
        if (c.disconnectGraceSeconds() < 0 || c.retrySeconds() < 1) {
            throw new IllegalArgumentException("config " + PID + ": disconnectGraceSeconds must be >= 0 and"
                    + " retrySeconds >= 1 (got " + c.disconnectGraceSeconds() + ", " + c.retrySeconds() + ")");
        }
        return new Settings(stateDir, Duration.ofSeconds(c.disconnectGraceSeconds()), Duration.ofSeconds(c.retrySeconds()),
                clusterName, initialSyncTimeout, hostFirewall(c));
    }

    /** The host firewall's settings; a bad value is refused with the key and the reason (nothing is applied). */
    static HostFirewall.Settings hostFirewall(Config c) {
        List<String> interfaces = new ArrayList<>();
        for (String name : items(c.hostInterfaces())) {
            if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")) {
                throw new IllegalArgumentException("config " + PID + ": hostInterfaces: \"" + name
                        + "\" is not an interface name");
            }
            if (!interfaces.contains(name)) interfaces.add(name);
        }
        if (interfaces.size() > HostFirewall.LAST_ID - HostFirewall.FIRST_ID + 1) {
            throw new IllegalArgumentException("config " + PID + ": hostInterfaces: at most "
                    + (HostFirewall.LAST_ID - HostFirewall.FIRST_ID + 1) + " interfaces");
        }
        Map<String, String> labels = new java.util.TreeMap<>();
        for (String l : items(c.nodeLabels())) {
            int eq = l.indexOf('=');
            String key = eq < 0 ? l : l.substring(0, eq);
            String value = eq < 0 ? "" : l.substring(eq + 1);
            String bad = LabelRules.checkLabel(key, value);
            if (bad != null) throw new IllegalArgumentException("config " + PID + ": nodeLabels: " + bad);
            labels.put(key, value);
        }
        List<FailsafePort> failsafe = new ArrayList<>();
        try {
            for (String p : items(c.failsafeInboundHostPorts())) failsafe.add(FailsafePort.parse(Direction.INGRESS, p));
            for (String p : items(c.failsafeOutboundHostPorts())) failsafe.add(FailsafePort.parse(Direction.EGRESS, p));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config " + PID + ": " + e.getMessage(), e);
        }
        return new HostFirewall.Settings(interfaces, labels, failsafe.stream().distinct().toList());
    }

    /** A list as FileInstall gives it: an array, whose elements may themselves be comma-separated. */
    private static List<String> items(String[] values) {
        List<String> out = new ArrayList<>();
        if (values == null) return out;
        for (String v : values) {
            if (v == null) continue;
            for (String part : v.split(",")) if (!part.isBlank()) out.add(part.trim());
        }
        return out;
    }

    @Modified
    void modified(Config config) {
        updateSettings(settings(stateDir, config, clusterName, initialSyncTimeout));
    }

    /** The cluster's name when {@value #CLUSTER_PID} names etcd endpoints (default "default"), else null. */
    static String clusterName(Map<String, Object> properties) {
        Object endpoints = properties == null ? null : properties.get("etcdEndpoints");
        if (endpoints == null || endpoints.toString().isBlank()) return null;
        Object name = properties.get("clusterName");
        return name == null || name.toString().isBlank() ? "default" : name.toString().trim();
    }

    /**
     * {@code initialSyncTimeoutSeconds} of {@value #CLUSTER_PID}: how long a (re)started node keeps the datapath as it
     * was while the cluster's first listing of remote endpoints is pending (default 5).
     */
    static Duration initialSyncTimeout(Map<String, Object> properties) {
        Object v = properties == null ? null : properties.get("initialSyncTimeoutSeconds");
        if (v == null || v.toString().isBlank()) return Settings.DEFAULT_INITIAL_SYNC_TIMEOUT;
        long seconds;
        try {
            seconds = Long.parseLong(v.toString().trim());
        } catch (NumberFormatException e) {
            seconds = -1;
        }
        if (seconds < 0 || seconds > 3600) {
            throw new IllegalArgumentException("config " + CLUSTER_PID + ": initialSyncTimeoutSeconds must be a whole"
                    + " number of seconds from 0 to 3600, not \"" + v + "\"");
        }
        return Duration.ofSeconds(seconds);
    }

    @Reference(name = "sources", service = EndpointSource.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindSource")
    void bindSource(EndpointSource source) {
        addSource(source);
    }

    void unbindSource(EndpointSource source) {
        // After deactivation the agent is stopping: sources are closed but their datapath state stays.
        if (!deactivated) removeSource(source);
    }

    @Reference(name = "fqdn", service = io.septum.api.fqdn.FqdnCache.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindFqdn")
    void bindFqdn(io.septum.api.fqdn.FqdnCache c) {
        setFqdnCache(c);
    }

    void unbindFqdn(io.septum.api.fqdn.FqdnCache c) {
        unsetFqdnCache(c);
    }

    @Reference(name = "remote", service = io.septum.api.RemoteEndpoints.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindRemote")
    void bindRemote(io.septum.api.RemoteEndpoints r) {
        setRemoteEndpoints(r);
    }

    void unbindRemote(io.septum.api.RemoteEndpoints r) {
        unsetRemoteEndpoints(r);
    }

    @Reference(name = "realization", service = io.septum.api.policy.PolicyRealizationListener.class,
            cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            unbind = "unbindRealization")
    void bindRealization(io.septum.api.policy.PolicyRealizationListener l) {
        addRealizationListener(l);
    }

    void unbindRealization(io.septum.api.policy.PolicyRealizationListener l) {
        removeRealizationListener(l);
    }

    private synchronized void registerReady(long since) {
        if (deactivated || ready != null) return;
        long startToReady = since - JvmStart.millis(context::getProperty);
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("startToReadyMillis", startToReady);
        ready = context.registerService(AgentReady.class, () -> since, props);
        LOG.info("agent ready " + startToReady + " ms after JVM start");
    }

    @Deactivate
    synchronized void deactivate() {
        deactivated = true;
        try {
            listener.unregister();
        } catch (IllegalStateException ignored) {
            // already gone with the bundle
        }
        if (ready != null) {
            try {
                ready.unregister();
            } catch (IllegalStateException ignored) {
                // already gone with the bundle
            }
            ready = null;
        }
        close();
    }
}
