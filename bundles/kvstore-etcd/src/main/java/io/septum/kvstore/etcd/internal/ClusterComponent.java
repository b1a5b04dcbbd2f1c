package io.septum.kvstore.etcd.internal;

import io.septum.api.ClusterIdentities;
import io.septum.api.ClusterInfo;
import io.septum.api.ClusterNode;
import io.septum.api.ClusterStatus;
import io.septum.api.ComponentStatus;
import io.septum.api.EndpointIndex;
import io.septum.api.HealthReporter;
import io.septum.api.Identity;
import io.septum.api.Labels;
import io.septum.api.RemoteEndpoints;
import io.septum.support.config.AgentDirs;
import io.septum.support.thread.DaemonThreads;
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
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Cluster mode's switch, configuration pid {@value #PID}. With no {@code etcdEndpoints} (the default) it does
 * nothing at all: no service, no thread, no status line; the agent is standalone. With endpoints it connects on a
 * thread of its own (never in {@code @Activate}), keeps this node's lease, runs the identity resync and the
 * two-round identity GC, and reports in {@code septum status}.
 *
 * <p>Once connected it registers {@link ClusterIdentities} (the node's identity allocator then numbers endpoint
 * label sets through it) and {@link RemoteEndpoints} (the endpoint manager merges the other nodes' endpoints into
 * the ipcache), and publishes this node's endpoints by following the {@link EndpointIndex} ({@link IpcacheSync}).
 */
@Component(service = {}, immediate = true, configurationPid = ClusterComponent.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = ClusterComponent.Config.class)
public final class ClusterComponent {
    static final String PID = "io.septum.cluster";
    /** How often a first listing that failed (etcd down at start) is tried again. */
    static final long FIRST_LISTING_RETRY_SECONDS = 3;
    private static final Logger LOG = Logger.getLogger(ClusterComponent.class.getName());

    @ObjectClassDefinition(name = "Septum cluster mode", description = "etcd kvstore; empty etcdEndpoints = standalone")
    public @interface Config {
        @AttributeDefinition(description = "Name of the cluster (recorded under septum/cluster-config/<name>)")
        String clusterName() default "default";

        @AttributeDefinition(description = "This node's name in the kvstore; empty = the host name")
        String nodeName() default "";

        @AttributeDefinition(description = "Comma-separated etcd client URLs (https://host:2379); empty = standalone")
        String etcdEndpoints() default "";

        @AttributeDefinition(description = "PEM CA bundle that signs etcd's server certificate")
        String caFile() default "";

        @AttributeDefinition(description = "PEM client certificate (etcd --client-cert-auth)")
        String certFile() default "";

        @AttributeDefinition(description = "PKCS#8 PEM key of certFile")
        String keyFile() default "";

        @AttributeDefinition(description = "etcd user of this node (etcd authentication; scripts/etcd-roles.sh creates"
                + " septum-node-<nodeName>); empty = none")
        String etcdUser() default "";

        @AttributeDefinition(description = "File holding etcdUser's password (its first line); required with etcdUser")
        String etcdPasswordFile() default "";

        @AttributeDefinition(description = "Accept plaintext http:// endpoints (test clusters only)")
        boolean allowInsecure() default false;

        @AttributeDefinition(description = "TTL of this node's lease, renewed every TTL/3 (Cilium: 15 m)")
        long leaseTtlSeconds() default 900;

        @AttributeDefinition(description = "Interval of identity GC rounds; a master is deleted after two (Cilium: 15 m)")
        long identityGcIntervalSeconds() default 900;

        @AttributeDefinition(description = "Interval of re-creating this node's missing keys (Cilium: 5 m)")
        long resyncIntervalSeconds() default 300;

        @AttributeDefinition(description = "Comma-separated CIDRs of this node's endpoint addresses: only addresses inside"
                + " them are published, and other nodes accept only those")
        String endpointCidrs() default "";

        @AttributeDefinition(description = "Comma-separated addresses of this node itself: other nodes give them the"
                + " remote-node identity")
        String nodeAddresses() default "";

        @AttributeDefinition(description = "After a (re)start, how long the endpoint manager keeps the datapath as the"
                + " previous agent left it while the first listing of the other nodes' endpoints is pending (Cilium's"
                + " ListDone); then it goes on from local state (read by the endpoint manager)")
        long initialSyncTimeoutSeconds() default 5;

        @AttributeDefinition(description = "TCP port of this node's peer flow service (TLS, client certificates"
                + " required), registered for observe --cluster; 0 = none")
        int peerPort() default 0;

        @AttributeDefinition(description = "Address the peer flow service listens on and other nodes dial; empty ="
                + " the first of nodeAddresses")
        String peerAddress() default "";
    }

    private final BundleContext context;
    private ScheduledExecutorService timer;
    private ServiceRegistration<HealthReporter> health;
    private volatile String state = "connecting";
    private volatile String message = "";
    private volatile EtcdClient etcd;
    /** The etcd client's TLS files, followed for rotation; null without TLS files. */
    private volatile io.septum.support.tls.FollowedTlsFiles<SSLContext> tlsFiles;
    private volatile LeaseSession lease;
    private volatile KvstoreIdentityAllocator identities;
    private volatile IdentityGc gc;
    private volatile IdentityGc.Round lastGc;
    private volatile IpcacheSync sync;
    private ServiceRegistration<?> identitiesReg, remoteReg, infoReg;
    private final String clusterName;
    private final List<URI> configuredEndpoints;
    private volatile String nodeName = "";

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindIndex")
    void bindIndex(EndpointIndex index) {
        this.index = index;
        IpcacheSync s = sync;
        if (s != null) index.addListener(s);
    }

    void unbindIndex(EndpointIndex index) {
        IpcacheSync s = sync;
        if (s != null) index.removeListener(s);
        if (this.index == index) this.index = null;
    }

    private volatile EndpointIndex index;

    private final io.septum.api.policy.PolicyEngine policyEngine;
    private final io.septum.api.policy.PolicyRepository policyRepository;
    private volatile PolicySync policies;
    private ServiceRegistration<?> policiesReg, realizationReg;

    /** This node's name in the store: {@code nodeName}, else the host name. */
    static String nodeName(Config config) {
        if (!config.nodeName().isBlank()) return config.nodeName().strip();
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "localhost";
        }
    }

    @Activate
    public ClusterComponent(BundleContext context, Config config, @Reference io.septum.api.policy.PolicyEngine policyEngine,
                            @Reference io.septum.api.policy.PolicyRepository policyRepository) {
        this.context = context;
        this.policyEngine = policyEngine;
        this.policyRepository = policyRepository;
        this.clusterName = config.clusterName();
        List<URI> endpoints = endpoints(config.etcdEndpoints());
        this.configuredEndpoints = endpoints;
        if (endpoints.isEmpty()) {
            LOG.fine("no etcdEndpoints in " + PID + ": standalone");
            return;
        }
        timer = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("septum-cluster"));
        health = context.registerService(HealthReporter.class, this::health, null);
        infoReg = context.registerService(ClusterInfo.class, new ClusterInfo() {
            @Override
            public ClusterStatus status() {
                return clusterStatus();
            }

            @Override
            public List<ClusterNode> nodes() {
                return clusterNodes();
            }
        }, new java.util.Hashtable<>(java.util.Map.of("septum.node.name", nodeName(config))));
        timer.execute(() -> start(config, endpoints));
    }

    static List<URI> endpoints(String text) {
        List<URI> out = new ArrayList<>();
        if (text == null) return out;
        for (String s : text.split("[,\\s]+")) if (!s.isBlank()) out.add(URI.create(s.trim()));
        return out;
    }

    private void start(Config config, List<URI> endpoints) {
        try {
            io.septum.support.tls.FollowedTlsFiles<SSLContext> files = null;
            if (!config.caFile().isBlank() || !config.certFile().isBlank()) {
                files = Tls.follow(path(config.caFile()), path(config.certFile()), path(config.keyFile()),
                        Tls.CHECK_MILLIS, System::nanoTime);
            }
            tlsFiles = files;
            etcd = new EtcdClient(new EtcdClient.Options(endpoints, files == null ? null : files::current,
                    config.allowInsecure(), Duration.ofSeconds(5), credentials(config.etcdUser(), config.etcdPasswordFile())));
            String node = nodeName(config);
            nodeName = node;
            lease = new LeaseSession(etcd, config.leaseTtlSeconds());
            Path stateDir = AgentDirs.stateDir(context::getProperty);
            identities = new KvstoreIdentityAllocator(etcd, lease, KvstoreIdentityAllocator.DEFAULT_PREFIX, node, stateDir);
            gc = new IdentityGc(etcd, KvstoreIdentityAllocator.DEFAULT_PREFIX);
            KvstoreIdentityAllocator ids = identities;
            identitiesReg = context.registerService(ClusterIdentities.class, new ClusterIdentities() {
                @Override
                public long allocate(Labels labels) {
                    return ids.allocate(labels).id();
                }

                @Override
                public void release(long id) {
                    // the caller may hold its own lock: etcd's round trip (or its timeout) happens on the cluster thread
                    timer.execute(() -> ids.release(id));
                }

                @Override
                public Optional<Identity> get(long id) {
                    return ids.get(id);
                }
            }, null);
            IpcacheSync s = new IpcacheSync(etcd, lease, new IpcacheSync.NodeInfo(node, list(config.nodeAddresses()),
                    list(config.endpointCidrs()), context.getBundle().getVersion().toString(), System.currentTimeMillis(),
                    peer(config)), timer);
            lease.onNewLease(l -> s.resync());
            s.start();
            sync = s;
            remoteReg = context.registerService(RemoteEndpoints.class, s, null);
            PolicySync ps = new PolicySync(etcd, lease, node, () -> policyEngine, () -> policyRepository);
            try {
                ps.start();
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cluster policies: the first listing failed; retried by resync", e);
            }
            policies = ps;
            lease.onNewLease(l -> ps.resync());
            policiesReg = context.registerService(io.septum.api.policy.ClusterPolicies.class, ps, null);
            realizationReg = context.registerService(io.septum.api.policy.PolicyRealizationListener.class, ps, null);
            EndpointIndex idx = index;
            if (idx != null) idx.addListener(s);
            try {
                etcd.putIfAbsent("septum/cluster-config/" + config.clusterName(),
                        "{\"name\":\"" + config.clusterName().replace("\"", "") + "\"}", 0);
            } catch (IOException e) {
                LOG.log(Level.FINE, "cluster-config not written yet", e);
            }
            state = "ok";
            message = "cluster " + config.clusterName() + ", node " + node + ", etcd " + endpoints;
            LOG.info("cluster mode: " + message);
            timer.scheduleWithFixedDelay(this::resync, config.resyncIntervalSeconds(), config.resyncIntervalSeconds(),
                    TimeUnit.SECONDS);
            // until the first listing is in (etcd down at start), try it every few seconds, not at the next resync:
            // the endpoint manager's gate and remote peers wait for it
            timer.scheduleWithFixedDelay(() -> {
                IpcacheSync x = sync;
                if (x != null && !x.synced()) x.resync();
            }, FIRST_LISTING_RETRY_SECONDS, FIRST_LISTING_RETRY_SECONDS, TimeUnit.SECONDS);
            timer.scheduleWithFixedDelay(this::collect, config.identityGcIntervalSeconds(),
                    config.identityGcIntervalSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            state = "failed";
            message = "cluster mode (" + PID + ") not started: " + e.getMessage();
            LOG.log(Level.SEVERE, message, e);
        }
    }

    private void resync() {
        KvstoreIdentityAllocator a = identities;
        if (a != null) a.resync();
        IpcacheSync s = sync;
        if (s != null) s.resync();
        PolicySync ps = policies;
        if (ps != null) ps.resync();
    }

    /**
     * {@code host:port} this node registers for its peer flow service: {@code peerAddress}, else the first of
     * {@code nodeAddresses}; null without {@code peerPort}, or when it cannot be served (the peer flow component,
     * which would listen there, reports why in status; cluster mode itself goes on).
     */
    static String peer(Config config) {
        if (config.peerPort() <= 0) return null;
        String host = config.peerAddress().isBlank() ? list(config.nodeAddresses()).stream().findFirst().orElse(null)
                : config.peerAddress().strip();
        if (config.peerPort() > 65535 || host == null) {
            LOG.warning(PID + ": peerPort " + config.peerPort() + " is not registered: "
                    + (host == null ? "neither peerAddress nor nodeAddresses is set" : "out of range 1-65535"));
            return null;
        }
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + config.peerPort();
    }

    /** etcdUser with the first line of etcdPasswordFile; null when neither is set. */
    static EtcdClient.Credentials credentials(String user, String passwordFile) throws IOException {
        boolean u = user != null && !user.isBlank(), f = passwordFile != null && !passwordFile.isBlank();
        if (!u && !f) return null;
        if (!u) throw new IllegalArgumentException("etcdPasswordFile is set but etcdUser is not");
        if (!f) throw new IllegalArgumentException("etcdUser " + user.strip() + " is set but etcdPasswordFile is not");
        Path file = Path.of(passwordFile.strip());
        String text;
        try {
            text = java.nio.file.Files.readString(file);
        } catch (IOException e) {
            throw new IOException("etcdPasswordFile " + file + " cannot be read: " + e, e);
        }
        String password = text.lines().findFirst().orElse("");
        if (password.isEmpty()) throw new IllegalArgumentException("etcdPasswordFile " + file + " is empty (its first line is the password)");
        return new EtcdClient.Credentials(user.strip(), password);
    }

    static List<String> list(String text) {
        List<String> out = new ArrayList<>();
        if (text != null) for (String s : text.split("[,\\s]+")) if (!s.isBlank()) out.add(s.trim());
        return out;
    }

    private void collect() {
        try {
            lastGc = gc.run();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "identity GC round failed", e);
        }
    }

    private ComponentStatus health() {
        if (!"ok".equals(state)) return new ComponentStatus("cluster", state, message);
        LeaseSession l = lease;
        List<String> problems = new ArrayList<>();
        if (l.id() == 0 || l.stale()) problems.add(l.lastError() == null ? "lease not renewed" : l.lastError());
        String err = identities.lastError();
        if (err != null) problems.add(err);
        IpcacheSync s = sync;
        if (s != null && s.problem() != null) problems.add(s.problem());
        PolicySync ps = policies;
        if (ps != null && ps.problem() != null) problems.add(ps.problem());
        io.septum.support.tls.FollowedTlsFiles<SSLContext> tf = tlsFiles;
        if (tf != null) {
            tf.check(); // a rotation is seen even while no new connection is made
            if (tf.problem() != null) problems.add("etcd client TLS files not reloaded, still using " + tf.describe()
                    + ": " + tf.problem());
        }
        String nodes = s == null ? "" : ", " + (s.nodes().size() + 1) + " node(s), " + s.list().size()
                + " remote address(es), revision " + s.lastRevision();
        String gcText = lastGc == null ? "" : ", last GC: " + lastGc.masters() + " identities, " + lastGc.deleted() + " deleted";
        String text = message + ", lease " + Long.toHexString(l.id()) + " (lost " + l.lostCount() + "x)" + nodes + gcText;
        return problems.isEmpty() ? ComponentStatus.ok("cluster", text)
                : new ComponentStatus("cluster", "degraded", text + ": " + String.join("; ", problems));
    }

    /** {@code septum cluster status}: asks the store now; an unreachable store is a status, not an error. */
    ClusterStatus clusterStatus() {
        List<String> urls = configuredEndpoints.stream().map(URI::toString).toList();
        EtcdClient c = etcd;
        IpcacheSync s = sync;
        LeaseSession l = lease;
        if (c == null || s == null) {
            return new ClusterStatus("cluster", clusterName, nodeName, urls, state, false, "", "", "", 0, 0, 0, 0, message);
        }
        ComponentStatus h = health();
        String leaseText = l == null || l.id() == 0 ? "" : Long.toHexString(l.id());
        try {
            EtcdClient.ServerStatus st = c.status();
            long synced = s.lastRevision();
            long lag = Math.max(0, s.storeRevisionOfPrefixes() - synced);
            return new ClusterStatus("cluster", clusterName, nodeName, urls, h.state(), true, st.leader(), st.version(),
                    leaseText, st.revision(), synced, lag, s.list().size(), h.message());
        } catch (IOException | RuntimeException e) {
            return new ClusterStatus("cluster", clusterName, nodeName, urls, "degraded", false, "", "", leaseText, 0,
                    s.lastRevision(), 0, s.list().size(), "etcd unreachable (" + e.getMessage()
                    + "): enforcement goes on with what this node knows; new label sets wait");
        }
    }

    /** {@code septum node list}: this node and every registered one, with the age of its last lease renewal. */
    List<ClusterNode> clusterNodes() {
        IpcacheSync s = sync;
        EtcdClient c = etcd;
        LeaseSession l = lease;
        if (s == null || c == null) return List.of();
        List<ClusterNode> out = new ArrayList<>();
        IpcacheSync.NodeInfo me = s.self();
        out.add(new ClusterNode(me.name(), me.addresses(), me.cidrs(), me.version(), me.startTime(), true,
                l != null && l.id() != 0 && !l.stale() ? "alive" : "no-lease", heartbeatAge(c, l == null ? 0 : l.id()), 0,
                me.peer()));
        for (IpcacheSync.NodeInfo n : s.nodes()) {
            long age = heartbeatAge(c, s.nodeLease(n.name()));
            out.add(new ClusterNode(n.name(), n.addresses(), n.cidrs(), n.version(), n.startTime(), false,
                    age < 0 ? "unknown" : "alive", age, s.accepted(n.name()), n.peer()));
        }
        out.sort(java.util.Comparator.comparing(ClusterNode::name));
        return out;
    }

    /** Milliseconds since the lease was last renewed (granted minus remaining TTL), -1 when unknown. */
    private static long heartbeatAge(EtcdClient c, long leaseId) {
        if (leaseId == 0) return -1;
        try {
            EtcdClient.LeaseTimes t = c.leaseTimes(leaseId);
            return t.remaining() < 0 ? -1 : Math.max(0, (t.granted() - t.remaining()) * 1000);
        } catch (IOException e) {
            return -1;
        }
    }

    private static Path path(String s) {
        return s == null || s.isBlank() ? null : Path.of(s);
    }

    @Deactivate
    void deactivate() {
        if (timer == null) return;
        timer.shutdownNow();
        try {
            // start() may still be registering on the cluster thread: let it finish before unregistering
            if (!timer.awaitTermination(10, TimeUnit.SECONDS)) LOG.warning("the cluster thread did not stop in 10 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (ServiceRegistration<?> r : new ServiceRegistration<?>[] {remoteReg, identitiesReg, infoReg, policiesReg, realizationReg}) {
            unregister(r);
        }
        PolicySync ps = policies;
        if (ps != null) ps.close();
        IpcacheSync s = sync;
        EndpointIndex idx = index;
        if (s != null) {
            if (idx != null) idx.removeListener(s);
            s.close();
        }
        unregister(health);
        // Revoking the lease removes this node's references at once; the identities stay (masters have no lease).
        LeaseSession l = lease;
        if (l != null) l.close();
    }

    /** Unregisters {@code r}, if there is one; one the stopping bundle took away already is fine. */
    private static void unregister(ServiceRegistration<?> r) {
        if (r == null) return;
        try {
            r.unregister();
        } catch (IllegalStateException alreadyGone) {
            // the bundle is stopping
        }
    }
}
