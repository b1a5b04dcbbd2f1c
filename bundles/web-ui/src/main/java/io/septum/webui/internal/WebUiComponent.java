package io.septum.webui.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.EndpointManager;
import io.septum.api.HealthReporter;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.Datapath;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.PolicyImpact;
import io.septum.api.flow.PolicySuggester;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyHistory;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.ui.UiLogin;
import io.septum.api.ui.UiLoginLink;
import io.septum.support.thread.DaemonThreads;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
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
 * Runs the web UI while {@code enabled=true} in {@code etc/io.septum.webui.cfg}; a changed configuration
 * restarts it (DS reactivates the component). Services are optional and dynamic, like the REST API's: the UI
 * answers 503 naming a missing one. Its line in {@code septum status} says where it listens, or why it does not.
 */
@Component(service = {HealthReporter.class, UiLogin.class}, immediate = true, configurationPid = WebUiComponent.PID)
@Designate(ocd = WebUiComponent.Config.class)
public final class WebUiComponent implements HealthReporter, UiBackend, UiLogin {
    public static final String PID = "io.septum.webui";
    private static final System.Logger LOG = System.getLogger(WebUiComponent.class.getName());
    private static final String NAME = "web-ui";

    @ObjectClassDefinition(name = "Septum web UI", description = "The web UI on a loopback address")
    public @interface Config {
        @AttributeDefinition(description = "Serve the web UI")
        boolean enabled() default false;

        @AttributeDefinition(description = "TCP port (0: any free port, shown in septum status)")
        int port() default 12000;

        @AttributeDefinition(description = "Loopback address to listen on: 127.0.0.1, ::1 or localhost; others are refused")
        String address() default "127.0.0.1";

        @AttributeDefinition(description = "Live flow streams (open UI pages) at once")
        int maxStreams() default 8;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile EndpointManager endpointManager;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicyRepository policyRepository;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile FlowObserver flowObserver;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile Datapath datapath;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.flow.FlowRelay flowRelay;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicyEngine policyEngine;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicyImpact policyImpact;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicyHistory policyHistory;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicySuggester policySuggester;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile io.septum.api.policy.ClusterPolicies clusterPolicies;

    private final boolean enabled;
    private final WebUiServer server;
    private final UiSessions sessions = new UiSessions(Clock.systemUTC());
    private volatile ComponentStatus health;

    @Activate
    public WebUiComponent(Config cfg) {
        this.enabled = cfg.enabled();
        if (!enabled) {
            server = null;
            health = ComponentStatus.ok(NAME, "disabled (enabled=true in etc/" + PID + ".cfg serves it on 127.0.0.1)");
            return;
        }
        WebUiServer s = null;
        try {
            if (cfg.port() < 0 || cfg.port() > 65535) throw new IllegalArgumentException("port " + cfg.port() + " is out of range 0-65535");
            if (cfg.maxStreams() < 1) throw new IllegalArgumentException("maxStreams must be at least 1");
            InetAddress addr = LoopbackAddress.parse(cfg.address());
            s = new WebUiServer(new InetSocketAddress(addr, cfg.port()), new UiApi(this, sessions), cfg.maxStreams());
            health = ComponentStatus.ok(NAME, "starting");
        } catch (IllegalArgumentException e) {
            String m = PID + ": " + e.getMessage() + "; the web UI is not served";
            LOG.log(System.Logger.Level.ERROR, m);
            health = ComponentStatus.failed(NAME, m);
        }
        server = s;
        if (server != null) {
            // binding is quick, but activation never waits on the network stack
            DaemonThreads.start("septum-webui-bind", this::bind);
        }
    }

    private void bind() {
        try {
            server.start();
            InetSocketAddress a = server.boundAddress();
            if (a == null) return; // deactivated meanwhile
            String url = url(a);
            health = ComponentStatus.ok(NAME, "listening on " + url);
            LOG.log(System.Logger.Level.INFO, "web UI on " + url);
        } catch (IOException | RuntimeException e) {
            String m = PID + ": cannot listen: " + e.getMessage();
            LOG.log(System.Logger.Level.ERROR, m);
            health = ComponentStatus.failed(NAME, m);
        }
    }

    static String url(InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        if (host.contains(":")) host = "[" + host.replaceFirst("%.*$", "") + "]";
        return "http://" + host + ":" + a.getPort() + "/";
    }

    @Deactivate
    void deactivate() {
        if (server != null) server.close();
    }

    @Override
    public ComponentStatus health() {
        ComponentStatus h = health;
        if (server != null && "ok".equals(h.state()) && h.message().startsWith("listening")) {
            return ComponentStatus.ok(NAME, h.message() + ", " + server.streams() + " live stream(s)");
        }
        return h;
    }

    /** The bound service of each type the routes ask for ({@link UiBackend} names the absent ones). */
    @Override
    public <T> T find(Class<T> type) {
        Object service = type == EndpointManager.class ? endpointManager
                : type == PolicyRepository.class ? policyRepository
                : type == FlowObserver.class ? flowObserver
                : type == io.septum.api.flow.FlowRelay.class ? flowRelay
                : type == PolicyEngine.class ? policyEngine
                : type == PolicyImpact.class ? policyImpact
                : type == PolicyHistory.class ? policyHistory
                : type == PolicySuggester.class ? policySuggester
                : type == io.septum.api.policy.ClusterPolicies.class ? clusterPolicies
                : null;
        return type.cast(service);
    }

    /** A link to this UI that signs the browser in for {@code author}; the REST API has checked who asks. */
    @Override
    public UiLoginLink login(String author) {
        InetSocketAddress a = server == null ? null : server.boundAddress();
        if (a == null) {
            throw new IllegalStateException("the web UI is not served (" + health.message() + ")");
        }
        Map.Entry<String, Instant> link = sessions.issue(author);
        return new UiLoginLink(url(a) + "#" + WebUiServer.LOGIN_FRAGMENT + link.getKey(), link.getValue().toString());
    }

    @Override
    public Map<Integer, Long> ruleHits() {
        Datapath dp = datapath;
        if (dp == null) return null;
        Map<Integer, Long> hits = new HashMap<>();
        try {
            for (BpfEndpoint e : dp.endpoints()) {
                for (BpfPolicyEntry p : dp.policy(e.endpointId())) {
                    if (p.ruleId() != 0) hits.merge(p.ruleId(), p.packets(), Long::sum);
                }
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "rule hits unavailable: " + e);
            return null;
        }
        return hits;
    }
}
