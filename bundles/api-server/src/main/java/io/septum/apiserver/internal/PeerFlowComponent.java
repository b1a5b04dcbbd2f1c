package io.septum.apiserver.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.ClusterInfo;
import io.septum.api.ComponentStatus;
import io.septum.api.HealthReporter;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowRelay;
import io.septum.support.thread.DaemonThreads;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * Flows cluster-wide, configured in cluster mode's pid ({@code io.septum.cluster}): the {@link FlowRelay} that
 * {@code /v1/flows?cluster=true} on the unix socket uses (the CLI needs no certificate: this agent holds them), and,
 * with {@code peerPort}, the {@link PeerFlowServer} that other nodes' relays read. Without TLS files the server is not
 * started at all (its status line says why): the port never opens without TLS and client certificates. The TLS
 * files are followed ({@link PeerTlsFiles}): a rotated certificate is used from the next connection on, both ways.
 */
@Component(service = FlowRelay.class, immediate = true, configurationPid = PeerFlowComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public final class PeerFlowComponent implements FlowRelay {
    static final String PID = "io.septum.cluster";
    private static final System.Logger LOG = System.getLogger(PeerFlowComponent.class.getName());
    /** How often, at most, a new connection looks whether the TLS files changed. */
    static final long TLS_CHECK_MILLIS = 2_000;

    /** The keys of {@code etc/io.septum.cluster.cfg} this component reads (cluster mode's component reads the rest). */
    public @interface Config {
        String etcdEndpoints() default "";

        int peerPort() default 0;

        String peerAddress() default "";

        String nodeAddresses() default "";

        String peerCaFile() default "";

        String peerCertFile() default "";

        String peerKeyFile() default "";

        String caFile() default "";

        String certFile() default "";

        String keyFile() default "";

        /** Milliseconds a followed flow may wait for older ones from other nodes (the merge window). */
        long relayWindowMillis() default 1_000;

        /** Flows the relay holds at most per stream while it orders them. */
        int relayBufferFlows() default 10_000;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile FlowObserver observer;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile ClusterInfo clusterInfo;

    private final ExecutorService pool;
    private final Relay relay;
    private final PeerClient client;
    private final PeerFlowServer server;
    private final PeerTlsFiles tlsFiles;
    private final ServiceRegistration<HealthReporter> health;

    @Activate
    public PeerFlowComponent(BundleContext ctx, Config cfg) {
        pool = Executors.newCachedThreadPool(DaemonThreads.numbered("septum-relay"));
        PeerTlsFiles tls = null;
        String tlsProblem = null;
        try {
            PeerTls files = tls(cfg);
            if (files != null) tls = new PeerTlsFiles(files, TLS_CHECK_MILLIS, System::nanoTime);
        } catch (IllegalArgumentException e) {
            tlsProblem = "io.septum.cluster: " + e.getMessage();
        }
        tlsFiles = tls;
        PeerClient c = null;
        String noClient = tlsProblem != null ? "this node cannot dial peers: " + tlsProblem
                : "this node has no peer certificate: set peerCaFile, peerCertFile and peerKeyFile (or caFile, certFile"
                + " and keyFile) in etc/io.septum.cluster.cfg";
        if (tls != null) c = new PeerClient(tls::client, 5_000, 30_000);
        client = c;
        relay = new Relay(() -> observer, () -> clusterInfo, c, noClient, new Relay.Settings(
                Math.max(0, cfg.relayWindowMillis()), Math.max(16, cfg.relayBufferFlows()), 10_000, 10_000, 5_000), pool);
        PeerFlowServer s = null;
        ComponentStatus problem = null;
        boolean cluster = !cfg.etcdEndpoints().isBlank();
        if (cluster && cfg.peerPort() > 0) {
            String host = cfg.peerAddress().isBlank() ? first(cfg.nodeAddresses()) : cfg.peerAddress().strip();
            if (cfg.peerPort() > 65535) {
                problem = ComponentStatus.failed("peer-flows", "io.septum.cluster: peerPort " + cfg.peerPort() + " is out of range 1-65535");
            } else if (host == null) {
                problem = ComponentStatus.failed("peer-flows", "io.septum.cluster: peerPort " + cfg.peerPort()
                        + " is set but neither peerAddress nor nodeAddresses says which address to listen on");
            } else if (tls == null) {
                problem = ComponentStatus.failed("peer-flows", "not listening on port " + cfg.peerPort() + ": the peer flow"
                        + " service needs TLS and client certificates; " + (tlsProblem != null ? tlsProblem
                        : "set peerCaFile, peerCertFile and peerKeyFile (or caFile, certFile and keyFile) in etc/io.septum.cluster.cfg"));
            } else {
                try {
                    s = new PeerFlowServer(new InetSocketAddress(host, cfg.peerPort()), tls::server, () -> observer,
                            new ObjectMapper(), PeerFlowServer.Settings.defaults());
                    s.start();
                } catch (IllegalArgumentException e) {
                    problem = ComponentStatus.failed("peer-flows", "io.septum.cluster: " + e.getMessage());
                }
            }
        }
        if (problem != null) LOG.log(System.Logger.Level.ERROR, problem.message());
        server = s;
        ComponentStatus fixed = problem;
        PeerFlowServer srv = s;
        // standalone, or no peerPort: no status line, as cluster mode has none then
        health = fixed == null && srv == null ? null
                : ctx.registerService(HealthReporter.class, () -> fixed != null ? fixed : health(srv.health()), null);
    }

    /** The server's line, degraded while rotated TLS files are refused (the old ones still serve). */
    private ComponentStatus health(ComponentStatus serving) {
        String refused = tlsFiles == null ? null : tlsFiles.problem();
        if (refused == null || !serving.state().equals("ok")) return serving;
        return new ComponentStatus("peer-flows", "degraded", serving.message() + "; the TLS files on disk are refused,"
                + " still using " + tlsFiles.describe() + ": " + refused);
    }

    /** The TLS files: the peer* keys, each defaulting to etcd's; null when none is set. */
    static PeerTls tls(Config cfg) {
        String ca = or(cfg.peerCaFile(), cfg.caFile());
        String cert = or(cfg.peerCertFile(), cfg.certFile());
        String key = or(cfg.peerKeyFile(), cfg.keyFile());
        if (ca.isBlank() && cert.isBlank() && key.isBlank()) return null;
        return new PeerTls(ca.isBlank() ? null : Path.of(ca), cert.isBlank() ? null : Path.of(cert),
                key.isBlank() ? null : Path.of(key));
    }

    private static String or(String a, String b) {
        return a == null || a.isBlank() ? (b == null ? "" : b.strip()) : a.strip();
    }

    private static String first(String list) {
        for (String s : list.split("[,\\s]+")) if (!s.isBlank()) return s.strip();
        return null;
    }

    @Override
    public void stream(Map<String, List<String>> query, boolean follow, Sink sink) throws IOException {
        if (observer == null) {
            throw new IllegalStateException("the flow observer (bundle septum-observer) is not running in the agent");
        }
        relay.stream(query, follow, sink);
    }

    @Deactivate
    void deactivate() {
        if (health != null) health.unregister();
        if (server != null) server.close();
        if (client != null) client.close();
        pool.shutdownNow();
    }
}
