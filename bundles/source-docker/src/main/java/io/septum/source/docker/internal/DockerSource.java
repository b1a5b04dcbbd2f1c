package io.septum.source.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.ContainerNetwork;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.EventType;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import io.septum.api.ComponentStatus;
import io.septum.api.EndpointSink;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.NamedPort;
import io.septum.api.HealthReporter;
import io.septum.api.SourceHealth;
import io.septum.support.source.Backoff;
import io.septum.support.source.ReconnectLoop;
import io.septum.support.source.ReportedSet;
import io.septum.support.source.SinkCalls;
import io.septum.support.source.WorkerThread;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;

import static io.septum.support.source.Failures.rootMessage;

/**
 * The {@code docker} endpoint source.
 *
 * <p>One thread does everything: it connects, subscribes to the engine's container events <em>before</em> listing the
 * running containers (so nothing that happens in between is missed), reports, and handles each event in order. When
 * the engine goes away the endpoints are kept as they are, because tearing down enforcement over an engine restart
 * would open or close traffic for containers that may well still run; the source reconnects with backoff and a
 * {@code resync} with the live list settles whatever changed meanwhile.
 */
@Component(configurationPid = DockerSource.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {EndpointSource.class, HealthReporter.class})
@Designate(ocd = DockerSource.Config.class)
public final class DockerSource implements EndpointSource, HealthReporter {
    static final String PID = "io.septum.source.docker";
    /** The label source, as Cilium names container runtime labels: the endpoints get {@code container:} labels. */
    static final String NAME = "container";
    static final String EXTERNAL_ID = "container-id";
    static final String EXTERNAL_NAME = "container-name";
    private static final Logger LOG = Logger.getLogger(DockerSource.class.getName());
    /** The prefix of the labels that declare named ports: {@code io.septum.port.http=8080/tcp}. */
    static final String PORT_LABEL = "io.septum.port.";
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Set<String> GONE = Set.of("die", "stop", "kill", "destroy", "pause");
    private static final Set<String> STARTED = Set.of("start", "restart", "unpause");

    @ObjectClassDefinition(name = "Septum docker endpoint source")
    @interface Config {
        @AttributeDefinition(description = "The Docker engine's API endpoint, e.g. unix:///var/run/docker.sock")
        String dockerHost() default "unix:///var/run/docker.sock";

        @AttributeDefinition(description = "The namespace of every container endpoint (a DNS label)")
        String namespace() default "default";

        @AttributeDefinition(description = "If set, a container label key whose value (when it is a DNS label) is the"
                + " endpoint's namespace instead of 'namespace'; empty turns the mapping off")
        String namespaceFromLabel() default "";

        @AttributeDefinition(description = "Longest wait in seconds between reconnect attempts to the engine")
        int maxBackoffSeconds() default 30;

        @AttributeDefinition(description = "Seconds a request to the engine (list, inspect, ping) may take")
        int requestTimeoutSeconds() default 30;
    }

    /** Everything the source is configured with; in the agent it comes from config pid {@value #PID}. */
    record Settings(String dockerHost, String namespace, String namespaceFromLabel, Duration maxBackoff,
                    Duration requestTimeout) {
        Settings {
            Objects.requireNonNull(dockerHost, "dockerHost");
            if (!dockerHost.startsWith("unix://") && !dockerHost.startsWith("tcp://")) {
                throw new IllegalArgumentException("config " + PID + ": dockerHost \"" + dockerHost
                        + "\" must be unix:///path/to/docker.sock or tcp://host:port");
            }
            if (namespace == null || !DNS_LABEL.matcher(namespace).matches()) {
                throw new IllegalArgumentException("config " + PID + ": namespace \"" + namespace
                        + "\" is not a DNS label (lowercase letters, digits and '-', at most 63 characters)");
            }
            namespaceFromLabel = namespaceFromLabel == null ? "" : namespaceFromLabel.trim();
            if (maxBackoff.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("config " + PID + ": maxBackoffSeconds must be at least 1");
            }
            if (requestTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("config " + PID + ": requestTimeoutSeconds must be at least 1");
            }
        }
    }

    private final Settings settings;
    private final HostLinks links;
    private final ClassLoader loader = DockerSource.class.getClassLoader();
    private final WorkerThread worker = new WorkerThread("septum-source-docker");
    private final ReconnectLoop loop;

    // Touched only on the worker thread.
    private final ReportedSet<EndpointSpec> reported = new ReportedSet<>(EndpointSpec::sourceId);
    private DockerClient api;
    private DockerClient events;
    private ResultCallback.Adapter<Event> subscription;

    private EndpointSink sink;
    private volatile boolean connected;
    private volatile String lastError;
    private volatile long lastSync;
    private volatile int endpointCount;

    @Activate
    public DockerSource(Config config) {
        this(new Settings(config.dockerHost(), config.namespace(), config.namespaceFromLabel(),
                Duration.ofSeconds(config.maxBackoffSeconds()), Duration.ofSeconds(config.requestTimeoutSeconds())));
    }

    DockerSource(Settings settings) {
        this.settings = settings;
        this.links = new HostLinks(Path.of("/sys/class/net"), Duration.ofSeconds(5));
        this.loop = new ReconnectLoop(worker, new Backoff(Duration.ofSeconds(1), settings.maxBackoff()));
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void open(EndpointSink sink) {
        if (!worker.start()) throw new IllegalStateException("source docker is already open");
        this.sink = sink;
        worker.execute(this::connect);
    }

    @Override
    @Deactivate
    public void close() {
        boolean wasOpen = worker.stop(() -> {
            loop.invalidate();
            disconnectClients();
            reported.clear();
        }, Duration.ofSeconds(10), e -> LOG.log(Level.WARNING, "source docker: closing the engine connection failed", e));
        if (!wasOpen) return;
        connected = false;
    }

    @Override
    public ComponentStatus health() {
        if (!connected) {
            return new ComponentStatus("source-docker", "degraded", "Docker engine at " + settings.dockerHost()
                    + " unreachable: " + lastError + "; reconnecting, " + endpointCount + " endpoints kept");
        }
        return ComponentStatus.ok("source-docker", endpointCount + " endpoints from " + settings.dockerHost());
    }

    private void connect() {
        long gen = loop.newAttempt();
        disconnectClients();
        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        Thread.currentThread().setContextClassLoader(loader);
        try {
            api = client(settings.requestTimeout());
            events = client(null);
            api.pingCmd().exec();
            // Subscribe first, list second: an event for a container the listing already shows is harmless
            // (the same spec again, or a removal), while the other order could miss one.
            subscription = events.eventsCmd()
                    .withEventTypeFilter(EventType.CONTAINER)
                    .withEventFilter(new ArrayList<>(union(GONE, STARTED)).toArray(new String[0]))
                    .exec(new ResultCallback.Adapter<Event>() {
                        @Override
                        public void onNext(Event e) {
                            loop.submit(gen, () -> onEvent(e));
                        }

                        @Override
                        public void onError(Throwable t) {
                            loop.submit(gen, () -> lost("event stream failed: " + rootMessage(t)));
                        }

                        @Override
                        public void onComplete() {
                            loop.submit(gen, () -> lost("event stream ended (engine stopped?)"));
                        }
                    });
            // exec() only queues the request: list once the engine has answered it, or a container that starts
            // in between is in neither the stream nor the listing.
            boolean started;
            try {
                started = subscription.awaitStarted(settings.requestTimeout().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while the event stream started", e);
            }
            if (!started) {
                throw new IOException("the event stream did not start within " + settings.requestTimeout().toSeconds() + " s");
            }
            List<String> live = new ArrayList<>();
            for (Container c : api.listContainersCmd().withStatusFilter(List.of("running")).exec()) {
                EndpointSpec spec = describe(c.getId());
                if (spec != null) {
                    live.add(spec.sourceId());
                    report(spec);
                }
            }
            reported.retainAll(live);
            endpointCount = reported.size();
            sink.resync(live);
            lastSync = System.currentTimeMillis();
            connected = true;
            lastError = null;
            loop.connected();
            sink.health(new SourceHealth(NAME, true, lastSync, null));
            LOG.info("source docker: connected to " + settings.dockerHost() + ", " + live.size() + " containers");
        } catch (RuntimeException | IOException e) {
            lost("cannot reach the Docker engine at " + settings.dockerHost() + ": " + rootMessage(e));
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        java.util.Set<String> u = new java.util.TreeSet<>(a);
        u.addAll(b);
        return u;
    }

    private DockerClient client(Duration responseTimeout) {
        DefaultDockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder()
                .withDockerHost(settings.dockerHost()).withDockerTlsVerify(false).build();
        ZerodepDockerHttpClient.Builder http = new ZerodepDockerHttpClient.Builder()
                .dockerHost(config.getDockerHost())
                .connectionTimeout(Duration.ofSeconds(5));
        // The event stream is silent for as long as nothing happens: it must not time out.
        if (responseTimeout != null) http.responseTimeout(responseTimeout);
        return DockerClientImpl.getInstance(config, http.build());
    }

    /** The engine went away: keep the endpoints, say so, and try again later. */
    private void lost(String error) {
        disconnectClients();
        boolean wasConnected = connected;
        connected = false;
        lastError = error;
        if (wasConnected) LOG.warning("source docker: " + error + "; reconnecting");
        else LOG.fine("source docker: " + error);
        safely(() -> sink.health(new SourceHealth(NAME, false, lastSync, error)));
        loop.retryLater(this::connect);
    }

    private void onEvent(Event e) {
        String id = e.getId();
        String action = e.getAction() != null ? e.getAction() : e.getStatus();
        if (id == null || action == null) return;
        try {
            if (STARTED.contains(action)) {
                EndpointSpec spec = describe(id);
                if (spec != null) report(spec);
                else forget(id);
            } else if (GONE.contains(action)) {
                forget(id);
            }
        } catch (RuntimeException | IOException ex) {
            // One container we cannot inspect is not the engine going away; the next resync corrects it.
            LOG.log(Level.WARNING, "source docker: container " + id + " (" + action + "): " + rootMessage(ex), ex);
        }
        endpointCount = reported.size();
    }

    private void report(EndpointSpec spec) {
        if (reported.update(spec)) safely(() -> sink.upsert(spec));
    }

    private void forget(String id) {
        if (reported.remove(id)) safely(() -> sink.remove(id));
    }

    /** The endpoint a running container is, or null when it is not running or has no network namespace of its own. */
    EndpointSpec describe(String id) throws IOException {
        InspectContainerResponse c;
        try {
            c = api.inspectContainerCmd(id).exec();
        } catch (NotFoundException e) {
            return null;
        }
        if (c.getState() == null || !Boolean.TRUE.equals(c.getState().getRunning())) return null;
        Long pid = c.getState().getPidLong();
        if (pid == null || pid <= 0) return null;
        String mode = c.getHostConfig() == null ? null : c.getHostConfig().getNetworkMode();
        if ("host".equals(mode) || "none".equals(mode) || (mode != null && mode.startsWith("container:"))) {
            // It shares another namespace (or has none): there is no veth of its own to enforce on.
            return null;
        }
        List<String> addresses = new ArrayList<>();
        if (c.getNetworkSettings() != null && c.getNetworkSettings().getNetworks() != null) {
            for (ContainerNetwork n : c.getNetworkSettings().getNetworks().values()) {
                if (n.getIpAddress() != null && !n.getIpAddress().isEmpty()) addresses.add(n.getIpAddress());
                if (n.getGlobalIPv6Address() != null && !n.getGlobalIPv6Address().isEmpty()) {
                    addresses.add(n.getGlobalIPv6Address());
                }
            }
        }
        if (addresses.isEmpty()) return null;
        String name = c.getName() == null ? id.substring(0, Math.min(12, id.length())) : c.getName().replaceFirst("^/", "");
        Map<String, String> labels = new LinkedHashMap<>();
        if (c.getConfig() != null && c.getConfig().getLabels() != null) labels.putAll(c.getConfig().getLabels());
        List<NamedPort> ports = namedPorts(labels, name);
        labels.keySet().removeIf(k -> k.startsWith(PORT_LABEL));
        String veth = links.hostPeer(pid, "eth0");
        Map<String, String> external = new LinkedHashMap<>();
        external.put(EXTERNAL_ID, c.getId());
        external.put(EXTERNAL_NAME, name);
        return new EndpointSpec(c.getId(), name, namespaceOf(labels), labels, veth, "/proc/" + pid + "/ns/net",
                addresses, null, external, ports);
    }

    /**
     * A container's named ports, from labels {@code io.septum.port.<name>=<port>[/<protocol>]} (for example
     * {@code io.septum.port.http=8080/tcp}). They declare ports, they are not who the container is, so they are not
     * identity labels. A label that is not a valid port is left out with a warning naming it.
     */
    static List<NamedPort> namedPorts(Map<String, String> labels, String container) {
        List<NamedPort> out = new ArrayList<>();
        for (Map.Entry<String, String> e : new java.util.TreeMap<>(labels).entrySet()) {
            if (!e.getKey().startsWith(PORT_LABEL)) continue;
            try {
                out.add(NamedPort.parse(e.getKey().substring(PORT_LABEL.length()), e.getValue()));
            } catch (IllegalArgumentException x) {
                LOG.warning("container " + container + ": label " + e.getKey() + "=" + e.getValue() + " left out: "
                        + x.getMessage());
            }
        }
        return out;
    }

    /** The configured namespace, or the mapping label's value when that rule is on and the value is a DNS label. */
    String namespaceOf(Map<String, String> labels) {
        String key = settings.namespaceFromLabel();
        if (!key.isEmpty()) {
            String v = labels.get(key);
            if (v != null && DNS_LABEL.matcher(v).matches()) return v;
        }
        return settings.namespace();
    }

    private void disconnectClients() {
        closeQuietly(subscription);
        closeQuietly(events);
        closeQuietly(api);
        subscription = null;
        events = null;
        api = null;
    }

    private static void closeQuietly(Closeable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            // Already broken: that is why we close it.
        }
    }

    private static void safely(Runnable r) {
        SinkCalls.guarded(LOG, "source docker: the endpoint sink failed", r);
    }
}
