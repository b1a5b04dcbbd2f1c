package io.septum.metrics.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.Endpoint;
import io.septum.api.EndpointManager;
import io.septum.api.HealthReporter;
import io.septum.api.datapath.Datapath;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowStats;
import io.septum.api.flow.FlowSubscription;
import io.septum.api.policy.PolicyRealizationListener;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicyRuleHits;
import io.septum.support.thread.DaemonThreads;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
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
 * Serves {@code /metrics} when configuration pid {@value #PID} says {@code enabled=true}, on a loopback address only:
 * the metrics name every endpoint and policy, which is nothing to publish on a network. A non-loopback address is
 * refused (logged, and {@code septum status} shows why). The server starts on a thread of its own, never in
 * {@code @Activate}. Every service read is optional: a metric whose owner is away reads empty.
 */
@Component(service = HealthReporter.class, immediate = true, configurationPid = MetricsComponent.PID)
@Designate(ocd = MetricsComponent.Config.class)
public final class MetricsComponent implements HealthReporter {
    public static final String PID = "io.septum.metrics";
    private static final Logger LOG = Logger.getLogger(MetricsComponent.class.getName());

    @ObjectClassDefinition(name = "Septum metrics", description = "Prometheus metrics on a loopback HTTP port")
    public @interface Config {
        @AttributeDefinition(description = "Serve /metrics (off by default)")
        boolean enabled() default false;

        @AttributeDefinition(description = "TCP port (9962, as cilium-agent's metrics)")
        int port() default 9962;

        @AttributeDefinition(description = "Address to listen on; must be a loopback address (127.0.0.0/8 or ::1)")
        String address() default "127.0.0.1";
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile FlowObserver flowObserver;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile Datapath datapath;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicyRepository policyRepository;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile EndpointManager endpointManager;

    private final BundleContext context;
    private final SeptumMetrics metrics;
    private final InetAddress address;
    private final int port;
    private final boolean enabled;
    private volatile String problem;
    private volatile MetricsHttpServer server;
    private volatile ServiceRegistration<PolicyRealizationListener> realizationReg;
    private volatile Thread feeder;
    private volatile boolean stopped;

    @Activate
    public MetricsComponent(BundleContext context, Config cfg) {
        this.context = context;
        this.metrics = new SeptumMetrics(new SeptumMetrics.Sources() {
            @Override
            public List<PolicyRuleHits> ruleHits() {
                PolicyRepository r = policyRepository;
                Datapath d = datapath;
                if (r == null) return List.of();
                return PolicyRuleHits.of(r.list(), d == null ? List.of() : d.ruleHits());
            }

            @Override
            public List<Endpoint> endpoints() {
                EndpointManager m = endpointManager;
                return m == null ? List.of() : m.list();
            }

            @Override
            public FlowStats flowStats() {
                FlowObserver o = flowObserver;
                return o == null ? null : o.stats();
            }
        });
        this.enabled = cfg.enabled();
        this.port = cfg.port();
        InetAddress a = null;
        if (enabled) {
            String bad = checkAddress(cfg.address(), cfg.port());
            if (bad == null) {
                try {
                    a = InetAddress.getByName(cfg.address().trim());
                } catch (UnknownHostException e) {
                    bad = e.getMessage();
                }
            }
            if (bad != null) {
                problem = "config " + PID + ": " + bad + "; metrics are not served";
                LOG.severe(problem);
            }
        }
        this.address = a;
        if (enabled && problem == null) {
            feeder = DaemonThreads.start("septum-metrics", this::run);
        }
    }

    /** Why the configuration cannot be served, or null. Only literal loopback addresses are taken: no name lookups. */
    static String checkAddress(String address, int port) {
        if (port < 1 || port > 65535) return "port " + port + " is not a TCP port (1-65535)";
        if (address == null || address.isBlank()) return "address is empty; give a loopback address such as 127.0.0.1";
        String a = address.trim();
        boolean literal = a.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':');
        if (!literal) return "address \"" + a + "\" is not an IP address; give a loopback address such as 127.0.0.1";
        try {
            InetAddress ia = InetAddress.getByName(a);
            if (!ia.isLoopbackAddress()) {
                return "address " + a + " is not a loopback address: metrics are served on loopback only"
                        + " (127.0.0.0/8 or ::1)";
            }
        } catch (UnknownHostException e) {
            return "address \"" + a + "\" is not an IP address: " + e.getMessage();
        }
        return null;
    }

    SeptumMetrics metrics() {
        return metrics;
    }

    private void run() {
        try {
            server = MetricsHttpServer.start(metrics.registry(), new InetSocketAddress(address, port));
            LOG.info("metrics served on http://" + hostPort() + "/metrics");
        } catch (IOException | RuntimeException e) {
            problem = "cannot listen on " + hostPort() + ": " + e.getMessage();
            LOG.log(Level.SEVERE, problem, e);
            return;
        }
        if (stopped) {
            server.close();
            return;
        }
        realizationReg = context.registerService(PolicyRealizationListener.class,
                (revision, nanos, endpoints) -> metrics.realized(nanos), null);
        feed();
    }

    /** Counts every flow the observer sees, re-subscribing when the observer comes back. */
    private void feed() {
        FlowObserver current = null;
        FlowSubscription sub = null;
        try {
            while (!stopped) {
                FlowObserver o = flowObserver;
                if (o != current) {
                    if (sub != null) sub.close();
                    sub = o == null ? null : o.follow(FlowFilter.ALL);
                    current = o;
                }
                if (sub == null) {
                    synchronized (this) {
                        wait(500); // no observer bound: look again soon
                    }
                    continue;
                }
                Flow f = sub.poll(500, TimeUnit.MILLISECONDS);
                if (f != null) metrics.record(f);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "the metrics flow feed stopped", e);
        } finally {
            if (sub != null) sub.close();
        }
    }

    private String hostPort() {
        String h = address == null ? "?" : address.getHostAddress();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + port;
    }

    @Override
    public ComponentStatus health() {
        if (!enabled) return ComponentStatus.ok("metrics", "off (config " + PID + " enabled=false)");
        if (problem != null) return ComponentStatus.failed("metrics", problem);
        if (server == null) return new ComponentStatus("metrics", "degraded", "starting");
        return ComponentStatus.ok("metrics", "serving http://" + hostPort() + "/metrics");
    }

    @Deactivate
    void deactivate() {
        stopped = true;
        Thread t = feeder;
        if (t != null) t.interrupt();
        ServiceRegistration<PolicyRealizationListener> r = realizationReg;
        if (r != null) {
            try {
                r.unregister();
            } catch (IllegalStateException ignored) {
                // gone with the bundle
            }
        }
        MetricsHttpServer s = server;
        if (s != null) s.close();
    }
}
