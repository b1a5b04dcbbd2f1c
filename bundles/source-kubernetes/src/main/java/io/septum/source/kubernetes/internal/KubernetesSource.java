package io.septum.source.kubernetes.internal;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.septum.api.ComponentStatus;
import io.septum.api.EndpointSink;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.NamedPort;
import io.septum.api.HealthReporter;
import io.septum.api.SourceHealth;
import io.septum.api.policy.PolicySink;
import io.septum.api.policy.PolicySource;
import io.septum.support.source.ReportedSet;
import io.septum.support.source.SinkCalls;
import io.septum.support.source.WorkerThread;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

import static io.septum.support.source.Failures.rootMessage;

/**
 * The {@code k8s} endpoint source.
 *
 * <p>fabric8 informers list and watch the pods scheduled on this node, the namespaces, and the three policy kinds;
 * their callbacks only queue work on this source's one thread, which does everything else in order: pods become
 * endpoints and namespace labels go to the endpoint sink, policy objects to the policy sink of {@link #policies()}
 * (a second service object: a {@link PolicySource}, registered when {@code policies} is on). Informers
 * relist by themselves when a watch is lost (and report the objects that vanished meanwhile as deletions); a
 * periodic tick notices when the watches are back, resyncs the endpoint list with the informers' stores, and
 * retries pods whose host route did not exist yet. The watches run while the endpoint side is open; the policy side
 * offers what they hold whenever a policy sink is open.
 */
@Component(configurationPid = KubernetesSource.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {EndpointSource.class, HealthReporter.class})
@Designate(ocd = KubernetesSource.Config.class)
public final class KubernetesSource implements EndpointSource, HealthReporter {
    static final String PID = "io.septum.source.kubernetes";
    /** The label source, as Cilium names labels that come from Kubernetes: the endpoints get {@code k8s:} labels. */
    static final String NAME = "k8s";
    static final String SERVICE_ACCOUNT_LABEL = "io.cilium.k8s.policy.serviceaccount";
    static final String EXTERNAL_POD_NAME = "pod-name";
    static final String EXTERNAL_POD_NAMESPACE = "pod-namespace";
    static final String EXTERNAL_POD_UID = "pod-uid";
    private static final Logger LOG = Logger.getLogger(KubernetesSource.class.getName());

    @ObjectClassDefinition(name = "Septum kubernetes endpoint source")
    @interface Config {
        @AttributeDefinition(description = "Path of the kubeconfig file to use; empty: in-cluster settings (service"
                + " account token and KUBERNETES_SERVICE_HOST), else $KUBECONFIG or ~/.kube/config")
        String kubeconfig() default "";

        @AttributeDefinition(description = "The node whose pods become endpoints (spec.nodeName); empty: $NODE_NAME,"
                + " else this host's name")
        String nodeName() default "";

        @AttributeDefinition(description = "Seconds between informer resyncs (every object is handled again)")
        int resyncSeconds() default 300;

        @AttributeDefinition(description = "Whether CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and"
                + " NetworkPolicy objects are loaded into the policy repository")
        boolean policies() default true;

        @AttributeDefinition(description = "Seconds between health checks and retries of pods without a host route")
        int tickSeconds() default 2;

        @AttributeDefinition(description = "Whether the API server filters pods by node (field selector"
                + " spec.nodeName); off lists every pod and filters here, for servers without field selectors such as"
                + " fabric8's mock server")
        boolean nodeFieldSelector() default true;
    }

    /** Everything the source is configured with; in the agent it comes from config pid {@value #PID}. */
    record Settings(String kubeconfig, String nodeName, Duration resync, boolean policies, Duration tick,
                    boolean nodeFieldSelector) {
        Settings {
            kubeconfig = kubeconfig == null ? "" : kubeconfig.trim();
            if (!kubeconfig.isEmpty() && !Files.isReadable(Path.of(kubeconfig))) {
                throw new IllegalArgumentException("config " + PID + ": kubeconfig \"" + kubeconfig
                        + "\" is not a readable file");
            }
            nodeName = nodeName == null || nodeName.isBlank() ? defaultNodeName() : nodeName.trim();
            if (resync.isNegative()) throw new IllegalArgumentException("config " + PID + ": resyncSeconds must be >= 0");
            if (tick.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("config " + PID + ": tickSeconds must be at least 1");
            }
        }

        private static String defaultNodeName() {
            String env = System.getenv("NODE_NAME");
            if (env != null && !env.isBlank()) return env.trim();
            try {
                return Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
            } catch (IOException e) {
                return "localhost";
            }
        }
    }

    private final Settings settings;
    private final PolicySource policies = new Policies();
    private volatile PolicySink policySink;
    private ServiceRegistration<PolicySource> policyRegistration;
    private final HostRoutes routes = new HostRoutes(Duration.ofSeconds(5));
    private final ClassLoader loader = KubernetesSource.class.getClassLoader();
    private final WorkerThread worker = new WorkerThread("septum-source-kubernetes");

    // Touched only on the worker thread.
    private final ReportedSet<EndpointSpec> reported = new ReportedSet<>(EndpointSpec::sourceId);
    /** Running pods with an IP whose host route is missing yet (the CNI may add it after the pod shows up). */
    private final Map<String, Pod> pending = new HashMap<>();
    private final Map<String, Map<String, String>> namespaceLabels = new HashMap<>();
    private KubernetesClient client;
    private SharedIndexInformer<Pod> pods;
    private SharedIndexInformer<Namespace> namespaces;
    private final List<PolicyFeed> feeds = new ArrayList<>();
    private boolean watching;
    /** The watches were up and went down: when they are back, relist from scratch. */
    private boolean lost;

    private EndpointSink sink;
    private volatile boolean connected;
    private volatile String lastError;
    private volatile long lastSync;
    private volatile int endpointCount;
    private volatile int pendingCount;

    @Activate
    public KubernetesSource(BundleContext context, Config config) {
        this(new Settings(config.kubeconfig(), config.nodeName(), Duration.ofSeconds(config.resyncSeconds()),
                config.policies(), Duration.ofSeconds(config.tickSeconds()), config.nodeFieldSelector()));
        // Not a DS service of this component: PolicySource.close() and EndpointSource.close() must stay apart.
        if (settings.policies()) policyRegistration = context.registerService(PolicySource.class, policies, null);
    }

    KubernetesSource(Settings settings) {
        this.settings = settings;
    }

    /** The policy side: offers the policy objects this source watches. */
    PolicySource policies() {
        return policies;
    }

    private final class Policies implements PolicySource {
        @Override
        public String name() {
            return NAME;
        }

        @Override
        public void open(PolicySink sink) {
            policySink = sink;
            // The watches may have listed already: offer what they hold (else their first resync will).
            submit(() -> {
                if (watching) resyncPolicies();
            });
        }

        @Override
        public void close() {
            policySink = null;
        }
    }

    @Deactivate
    void deactivate() {
        if (policyRegistration != null) {
            try {
                policyRegistration.unregister();
            } catch (IllegalStateException ignored) {
                // already gone with the bundle
            }
        }
        close();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void open(EndpointSink sink) {
        if (!worker.start()) throw new IllegalStateException("source k8s is already open");
        this.sink = sink;
        worker.execute(this::start);
        worker.scheduleWithFixedDelay(this::tick, settings.tick(), settings.tick());
    }

    @Override
    public void close() {
        boolean wasOpen = worker.stop(this::stopClient, Duration.ofSeconds(10),
                e -> LOG.log(Level.WARNING, "source k8s: closing the API connection failed", e));
        if (!wasOpen) return;
        connected = false;
    }

    @Override
    public ComponentStatus health() {
        long synced = lastSync;
        String what = endpointCount + " pods of node " + settings.nodeName()
                + (pendingCount > 0 ? ", " + pendingCount + " waiting for a host route" : "")
                + (synced > 0 ? ", last sync " + java.time.Instant.ofEpochMilli(synced) : ", not synced yet");
        if (!connected) {
            String server = client == null ? "the Kubernetes API" : client.getMasterUrl().toString();
            return new ComponentStatus("source-kubernetes", "degraded", "watches on " + server + " down: "
                    + lastError + "; retrying, " + what + " kept");
        }
        return ComponentStatus.ok("source-kubernetes", what);
    }

    private void submit(Runnable r) {
        worker.execute(() -> {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "source k8s: " + rootMessage(e), e);
            }
        });
    }

    /** Queues informer callbacks on the source's thread. */
    private <T> ResourceEventHandler<T> handler(Consumer<T> onChange, Consumer<T> onDelete) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                submit(() -> onChange.accept(obj));
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                submit(() -> onChange.accept(newObj));
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                submit(() -> onDelete.accept(obj));
            }
        };
    }

    private boolean retry(boolean started, Throwable t) {
        lastError = rootMessage(t);
        LOG.log(Level.FINE, "source k8s: watch failed, the informer retries", t);
        return true;
    }

    private void start() {
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        // fabric8 finds its model classes and serializers through the context class loader.
        Thread.currentThread().setContextClassLoader(loader);
        try {
            io.fabric8.kubernetes.client.Config config = settings.kubeconfig().isEmpty()
                    ? io.fabric8.kubernetes.client.Config.autoConfigure(null)
                    : io.fabric8.kubernetes.client.Config.fromKubeconfig(new File(settings.kubeconfig()));
            client = new KubernetesClientBuilder().withConfig(config)
                    .withHttpClientFactory(new JdkHttpClientFactory()).build();
            long resync = settings.resync().toMillis();
            namespaces = client.namespaces().runnableInformer(resync);
            namespaces.addEventHandler(handler(this::onNamespace, this::onNamespaceDeleted));
            namespaces.exceptionHandler(this::retry);
            pods = settings.nodeFieldSelector()
                    ? client.pods().inAnyNamespace().withField("spec.nodeName", settings.nodeName()).runnableInformer(resync)
                    : client.pods().inAnyNamespace().runnableInformer(resync);
            pods.addEventHandler(handler(this::onPod, this::onPodDeleted));
            pods.exceptionHandler(this::retry);
            namespaces.start();
            pods.start();
            if (settings.policies()) {
                for (PolicyKind kind : PolicyKind.values()) {
                    PolicyFeed feed = new PolicyFeed(kind, client, () -> policySink);
                    SharedIndexInformer<GenericKubernetesResource> inf = client.genericKubernetesResources(kind.context())
                            .inAnyNamespace().runnableInformer(resync);
                    inf.addEventHandler(handler(feed::apply, feed::deleted));
                    inf.exceptionHandler(this::retry);
                    feed.informer = inf;
                    feeds.add(feed);
                    inf.start();
                }
            }
            LOG.info("source k8s: following the pods of node " + settings.nodeName() + " at " + client.getMasterUrl());
        } catch (RuntimeException e) {
            lastError = "cannot set up the Kubernetes client: " + rootMessage(e);
            LOG.log(Level.WARNING, "source k8s: " + lastError, e);
            stopClient();
            // Try again from the start: a kubeconfig can be fixed, an API server can come up.
            worker.schedule(this::start, Duration.ofSeconds(10));
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }

    private void stopClient() {
        for (PolicyFeed f : feeds) f.informer.close();
        feeds.clear();
        if (pods != null) pods.close();
        if (namespaces != null) namespaces.close();
        if (client != null) client.close();
        pods = null;
        namespaces = null;
        client = null;
        watching = false;
    }

    /** Health, the resync after (re)connecting, and pods waiting for their route. */
    private void tick() {
        try {
            if (pods == null || namespaces == null) {
                setConnected(false);
                return;
            }
            boolean now = pods.isWatching() && namespaces.isWatching() && pods.hasSynced() && namespaces.hasSynced();
            for (PolicyFeed f : feeds) now &= f.informer.isWatching() && f.informer.hasSynced();
            if (!now && watching) lost = true;
            if (now && lost) {
                // A resumed watch may have missed deletions (a server that lost our resourceVersion need not say
                // 410 Gone): start over with fresh informers, whose first list is the whole truth.
                lost = false;
                LOG.info("source k8s: the watches are back; relisting everything");
                stopClient();
                start();
                return;
            }
            if (now && !watching) resync();
            watching = now;
            setConnected(now);
            for (Pod p : List.copyOf(pending.values())) onPod(p);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "source k8s: " + rootMessage(e), e);
        }
    }

    private void setConnected(boolean now) {
        boolean was = connected;
        connected = now;
        if (now) lastError = null;
        else if (lastError == null) lastError = "watch connection closed, not resumed yet";
        if (was != now) {
            if (now) LOG.info("source k8s: watching " + client.getMasterUrl());
            else LOG.warning("source k8s: lost the watches on the Kubernetes API: " + lastError + "; the informers relist");
            safely(() -> sink.health(new SourceHealth(NAME, now, lastSync, now ? null : lastError)));
        }
    }

    /**
     * The informers hold the whole truth again: handle every object once more (what this thread missed while
     * disconnected), drop the endpoints and policies whose objects are gone, and say so.
     */
    private void resync() {
        for (Namespace n : namespaces.getStore().list()) onNamespace(n);
        List<String> live = new ArrayList<>();
        for (Pod p : pods.getStore().list()) {
            onPod(p);
            if (reported.contains(p.getMetadata().getUid())) live.add(p.getMetadata().getUid());
        }
        reported.retainAll(live);
        endpointCount = reported.size();
        safely(() -> sink.resync(live));
        resyncPolicies();
        lastSync = System.currentTimeMillis();
        safely(() -> sink.health(new SourceHealth(NAME, true, lastSync, null)));
        LOG.info("source k8s: synced " + live.size() + " pods, " + namespaceLabels.size() + " namespaces with labels");
    }

    /** Offers every policy object again and lets the sink drop those whose objects are gone. */
    private void resyncPolicies() {
        PolicySink to = policySink;
        if (to == null || !settings.policies()) return;
        List<String> live = new ArrayList<>();
        for (PolicyFeed f : feeds) live.addAll(f.applyAll());
        safely(() -> to.resync(live));
    }

    private void onNamespace(Namespace n) {
        String name = n.getMetadata().getName();
        Map<String, String> labels = n.getMetadata().getLabels() == null ? Map.of()
                : new TreeMap<>(n.getMetadata().getLabels());
        if (labels.equals(namespaceLabels.getOrDefault(name, Map.of()))) return;
        try {
            sink.namespaceLabels(name, labels);
            if (labels.isEmpty()) namespaceLabels.remove(name);
            else namespaceLabels.put(name, labels);
        } catch (IllegalArgumentException e) {
            LOG.warning("source k8s: namespace " + name + ": labels not applied: " + e.getMessage());
        }
    }

    private void onNamespaceDeleted(Namespace n) {
        String name = n.getMetadata().getName();
        if (namespaceLabels.remove(name) != null) {
            try {
                sink.namespaceLabels(name, Map.of());
            } catch (IllegalArgumentException e) {
                LOG.warning("source k8s: namespace " + name + ": " + e.getMessage());
            }
        }
    }

    private void onPod(Pod p) {
        String uid = p.getMetadata().getUid();
        if (uid == null) return;
        // The field selector is the server's business; a server that ignores it must not give us other nodes' pods.
        if (p.getSpec() == null || !settings.nodeName().equals(p.getSpec().getNodeName())) {
            onPodDeleted(p);
            return;
        }
        EndpointSpec spec;
        try {
            spec = describe(p);
        } catch (IOException e) {
            LOG.warning("source k8s: pod " + p.getMetadata().getNamespace() + "/" + p.getMetadata().getName() + ": "
                    + rootMessage(e));
            spec = null;
        }
        if (spec == null) {
            if (wantsEndpoint(p)) pending.put(uid, p);
            else pending.remove(uid);
            forget(uid);
        } else {
            pending.remove(uid);
            if (reported.update(spec)) {
                EndpointSpec s = spec;
                safely(() -> sink.upsert(s));
            }
        }
        endpointCount = reported.size();
        pendingCount = pending.size();
    }

    private void onPodDeleted(Pod p) {
        String uid = p.getMetadata().getUid();
        if (uid == null) return;
        pending.remove(uid);
        forget(uid);
        endpointCount = reported.size();
        pendingCount = pending.size();
    }

    private void forget(String uid) {
        if (reported.remove(uid)) safely(() -> sink.remove(uid));
    }

    /** A running pod with its own network namespace and an address: it should be an endpoint. */
    static boolean wantsEndpoint(Pod p) {
        if (p.getSpec() == null || Boolean.TRUE.equals(p.getSpec().getHostNetwork())) return false;
        if (p.getMetadata().getDeletionTimestamp() != null) return false;
        if (p.getStatus() == null || !"Running".equals(p.getStatus().getPhase())) return false;
        return !addresses(p).isEmpty();
    }

    static List<String> addresses(Pod p) {
        List<String> out = new ArrayList<>();
        if (p.getStatus() == null) return out;
        if (p.getStatus().getPodIPs() != null) {
            for (PodIP ip : p.getStatus().getPodIPs()) {
                if (ip.getIp() != null && !ip.getIp().isBlank() && !out.contains(ip.getIp())) out.add(ip.getIp());
            }
        }
        String ip = p.getStatus().getPodIP();
        if (ip != null && !ip.isBlank() && !out.contains(ip)) out.add(0, ip);
        return out;
    }

    /** The endpoint a pod is, or null when it is not (yet) one: not running, host network, no route to it. */
    EndpointSpec describe(Pod p) throws IOException {
        if (!wantsEndpoint(p)) return null;
        List<String> ips = addresses(p);
        String dev = routes.hostInterface(ips.get(0));
        if (dev == null) return null;
        return spec(p, dev);
    }

    /** The endpoint of a pod whose host-side interface is {@code dev}. */
    static EndpointSpec spec(Pod p, String dev) {
        Map<String, String> labels = new LinkedHashMap<>();
        if (p.getMetadata().getLabels() != null) labels.putAll(p.getMetadata().getLabels());
        String sa = p.getSpec().getServiceAccountName();
        labels.put(SERVICE_ACCOUNT_LABEL, sa == null || sa.isBlank() ? "default" : sa);
        Map<String, String> external = new LinkedHashMap<>();
        external.put(EXTERNAL_POD_NAME, p.getMetadata().getName());
        external.put(EXTERNAL_POD_NAMESPACE, p.getMetadata().getNamespace());
        external.put(EXTERNAL_POD_UID, p.getMetadata().getUid());
        return new EndpointSpec(p.getMetadata().getUid(), p.getMetadata().getName(),
                Objects.requireNonNullElse(p.getMetadata().getNamespace(), "default"), labels, dev, null,
                addresses(p), null, external, namedPorts(p));
    }

    /**
     * The pod's named container ports ({@code containers[].ports[].name}), which NetworkPolicy and CNP rules may
     * name. The API server validates them already; one that is still not a valid name is left out with a warning,
     * and of a name given twice for one protocol the first wins.
     */
    static List<NamedPort> namedPorts(Pod p) {
        List<NamedPort> out = new ArrayList<>();
        if (p.getSpec() == null || p.getSpec().getContainers() == null) return out;
        for (Container c : p.getSpec().getContainers()) {
            if (c.getPorts() == null) continue;
            for (ContainerPort cp : c.getPorts()) {
                if (cp.getName() == null || cp.getName().isEmpty() || cp.getContainerPort() == null) continue;
                try {
                    NamedPort np = new NamedPort(cp.getName(), cp.getContainerPort(), cp.getProtocol());
                    if (NamedPort.lookup(out, np.name(), np.protocol()).isEmpty()) out.add(np);
                } catch (IllegalArgumentException e) {
                    LOG.warning("pod " + p.getMetadata().getNamespace() + "/" + p.getMetadata().getName()
                            + ": container " + c.getName() + ": port left out: " + e.getMessage());
                }
            }
        }
        return out;
    }

    static String origin(HasMetadata o) {
        String ns = o.getMetadata().getNamespace();
        return NAME + ":" + o.getKind() + "/" + (ns == null || ns.isEmpty() ? "" : ns + "/") + o.getMetadata().getName();
    }

    private static void safely(Runnable r) {
        SinkCalls.guarded(LOG, "source k8s: the endpoint or policy sink failed", r);
    }
}
