package io.septum.source.libvirt.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.EndpointSink;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.HealthReporter;
import io.septum.api.SourceHealth;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The {@code libvirt} endpoint source.
 *
 * <p>It polls rather than following libvirt's domain events: events need libvirt's process-wide default event loop
 * ({@code virEventRegisterDefaultImpl}, which cannot be unregistered) driven by a native thread, and this bundle is
 * replaced at runtime with a fresh class loader and a fresh copy of JNA each time; a poll of the running domains
 * (one {@code listDomains} and one XML dump per domain) every {@code pollIntervalSeconds} is cheap, needs no native
 * callback into a class loader that may be gone, and is also how a lost connection and a restarted libvirtd are
 * noticed. When libvirtd is away the endpoints are kept as they are (their domains most likely still run), the
 * status says so, and the first poll after reconnecting reconciles with a {@code resync}.
 */
@Component(configurationPid = LibvirtSource.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {EndpointSource.class, HealthReporter.class})
@Designate(ocd = LibvirtSource.Config.class)
public final class LibvirtSource implements EndpointSource, HealthReporter {
    static final String PID = "io.septum.source.libvirt";
    /** The label source: endpoints get {@code libvirt:} labels. */
    static final String NAME = "libvirt";
    static final String EXTERNAL_NAME = "domain-name";
    static final String EXTERNAL_UUID = "domain-uuid";
    /** The label every domain endpoint carries with its domain name; it overrides a metadata label of that key. */
    static final String NAME_LABEL = "domain";
    private static final Logger LOG = Logger.getLogger(LibvirtSource.class.getName());
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern LABEL_VALUE = Pattern.compile("[A-Za-z0-9._-]{0,63}");

    @ObjectClassDefinition(name = "Septum libvirt endpoint source")
    @interface Config {
        @AttributeDefinition(description = "The libvirt connection URI, e.g. qemu:///system, lxc:///system, test:///default")
        String uri() default "qemu:///system";

        @AttributeDefinition(description = "The namespace of every domain endpoint (a DNS label); never taken from"
                + " the domain's own metadata")
        String namespace() default "default";

        @AttributeDefinition(description = "Seconds between two listings of the running domains")
        int pollIntervalSeconds() default 2;

        @AttributeDefinition(description = "Longest wait in seconds between reconnect attempts to libvirtd")
        int maxBackoffSeconds() default 30;

        @AttributeDefinition(description = "Where libvirt's networks keep their DHCP leases (dnsmasq *.status files)")
        String leaseDir() default "/var/lib/libvirt/dnsmasq";
    }

    /** Everything the source is configured with; in the agent it comes from config pid {@value #PID}. */
    record Settings(String uri, String namespace, Duration pollInterval, Duration maxBackoff, Path leaseDir) {
        Settings {
            if (uri == null || uri.isBlank() || !uri.contains(":")) {
                throw new IllegalArgumentException("config " + PID + ": uri \"" + uri
                        + "\" is not a libvirt URI such as qemu:///system or lxc:///system");
            }
            if (namespace == null || !DNS_LABEL.matcher(namespace).matches()) {
                throw new IllegalArgumentException("config " + PID + ": namespace \"" + namespace
                        + "\" is not a DNS label (lowercase letters, digits and '-', at most 63 characters)");
            }
            if (pollInterval.compareTo(Duration.ofMillis(100)) < 0) {
                throw new IllegalArgumentException("config " + PID + ": pollIntervalSeconds must be at least 1");
            }
            if (maxBackoff.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("config " + PID + ": maxBackoffSeconds must be at least 1");
            }
            Objects.requireNonNull(leaseDir, "leaseDir");
        }
    }

    private final Settings settings;
    private final Addresses addresses;
    private final Path sysClassNet;

    // Touched only on the executor's thread.
    private final Map<String, EndpointSpec> reported = new HashMap<>();
    private final Set<String> skipped = new HashSet<>();
    private Connect conn;
    private Duration backoff = Duration.ofSeconds(1);

    private final Object lock = new Object();
    private EndpointSink sink;
    private ScheduledExecutorService executor;
    private volatile boolean connected;
    private volatile String lastError;
    private volatile long lastSync;
    private volatile int endpointCount;

    @Activate
    public LibvirtSource(Config config) {
        this(new Settings(config.uri(), config.namespace(), Duration.ofSeconds(config.pollIntervalSeconds()),
                Duration.ofSeconds(config.maxBackoffSeconds()), Path.of(config.leaseDir())),
                Path.of("/sys/class/net"), Path.of("/proc/net/arp"));
    }

    LibvirtSource(Settings settings, Path sysClassNet, Path arpTable) {
        this.settings = settings;
        this.sysClassNet = sysClassNet;
        this.addresses = new Addresses(settings.leaseDir(), arpTable);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void open(EndpointSink sink) {
        synchronized (lock) {
            if (executor != null) throw new IllegalStateException("source libvirt is already open");
            this.sink = sink;
            executor = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "septum-source-libvirt");
                t.setDaemon(true);
                return t;
            });
            executor.execute(this::poll);
        }
    }

    @Override
    @Deactivate
    public void close() {
        ScheduledExecutorService ex;
        synchronized (lock) {
            ex = executor;
            executor = null;
        }
        if (ex == null) return;
        try {
            ex.submit(() -> {
                disconnect();
                reported.clear();
            }).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.log(Level.WARNING, "source libvirt: closing the connection to " + settings.uri() + " failed", e);
        }
        ex.shutdownNow();
        connected = false;
    }

    @Override
    public ComponentStatus health() {
        if (!connected) {
            return new ComponentStatus("source-libvirt", "degraded", "libvirt at " + settings.uri()
                    + " unreachable: " + lastError + "; reconnecting, " + endpointCount + " endpoints kept");
        }
        return ComponentStatus.ok("source-libvirt", endpointCount + " endpoints from " + settings.uri());
    }

    private void schedule(Duration wait) {
        synchronized (lock) {
            if (executor == null) return;
            try {
                executor.schedule(this::poll, wait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                // Closing.
            }
        }
    }

    /** One listing: connect if needed, report every running domain, resync; then the next poll. */
    private void poll() {
        try {
            if (conn == null) conn = new Connect(settings.uri(), true);
            List<String> live = new ArrayList<>();
            for (int id : conn.listDomains()) {
                EndpointSpec spec;
                try {
                    Domain d = conn.domainLookupByID(id);
                    String xml;
                    try {
                        xml = d.getXMLDesc(0);
                    } finally {
                        // Every lookup holds a reference in libvirt until freed; the finalizer would free it some day.
                        d.free();
                    }
                    spec = describe(xml);
                } catch (LibvirtException | IOException e) {
                    if (!alive()) throw new Lost("connection lost while reading domain id " + id + ": " + message(e));
                    // Stopped between the listing and the lookup, or an XML we cannot read: the next poll decides.
                    LOG.log(Level.FINE, "source libvirt: domain id " + id + ": " + e.getMessage());
                    continue;
                }
                if (spec == null) continue;
                live.add(spec.sourceId());
                if (!spec.equals(reported.get(spec.sourceId()))) {
                    reported.put(spec.sourceId(), spec);
                    safely(() -> sink.upsert(spec));
                }
            }
            reported.keySet().retainAll(live);
            endpointCount = reported.size();
            safely(() -> sink.resync(live));
            lastSync = System.currentTimeMillis();
            if (!connected) {
                connected = true;
                lastError = null;
                backoff = Duration.ofSeconds(1);
                LOG.info("source libvirt: connected to " + settings.uri() + ", " + live.size() + " running domains");
            }
            safely(() -> sink.health(new SourceHealth(NAME, true, lastSync, null)));
            schedule(settings.pollInterval());
        } catch (Lost e) {
            lost(e.getMessage());
        } catch (LibvirtException | RuntimeException e) {
            lost("cannot reach libvirt at " + settings.uri() + ": " + message(e));
        } catch (Error e) {
            // JNA could not load libvirt.so.0 (UnsatisfiedLinkError): say so in status and keep trying, the
            // operator may install it.
            lost("libvirt client library unusable: " + message(e));
        }
    }

    /** libvirtd went away: keep the endpoints, say so, and try again later. */
    private void lost(String error) {
        disconnect();
        boolean wasConnected = connected;
        connected = false;
        lastError = error;
        if (wasConnected) LOG.warning("source libvirt: " + error + "; reconnecting");
        else LOG.fine("source libvirt: " + error);
        safely(() -> sink.health(new SourceHealth(NAME, false, lastSync, error)));
        Duration wait = backoff;
        backoff = backoff.multipliedBy(2).compareTo(settings.maxBackoff()) > 0 ? settings.maxBackoff()
                : backoff.multipliedBy(2);
        schedule(wait);
    }

    private boolean alive() {
        try {
            return conn.isAlive();
        } catch (LibvirtException | RuntimeException e) {
            return false;
        }
    }

    /** The connection broke in the middle of a listing. */
    private static final class Lost extends Exception {
        Lost(String message) {
            super(message);
        }
    }

    private void disconnect() {
        if (conn == null) return;
        try {
            conn.close();
        } catch (LibvirtException | RuntimeException e) {
            // Already broken: that is why we close it.
        }
        conn = null;
    }

    /**
     * The endpoint a running domain is, or null when it has no interface on this host or no address: the first
     * interface whose host-side device exists is the one enforced on (an endpoint has one interface).
     */
    EndpointSpec describe(String xml) throws IOException {
        DomainXml d = DomainXml.parse(xml);
        String key = d.uuid() != null ? d.uuid() : d.name();
        DomainXml.Nic nic = null;
        for (DomainXml.Nic n : d.interfaces()) {
            if (n.dev() != null && Files.exists(sysClassNet.resolve(n.dev()))) {
                nic = n;
                break;
            }
        }
        Set<String> ips = new LinkedHashSet<>(d.addresses());
        if (nic != null) {
            for (String a : nic.addresses()) ips.add(a.contains("/") ? a.substring(0, a.indexOf('/')) : a);
            if (nic.mac() != null) ips.addAll(addresses.of(Set.of(nic.mac())));
        }
        if (nic == null || ips.isEmpty()) {
            if (skipped.add(key)) {
                LOG.info("source libvirt: domain " + d.name() + " is not an endpoint: "
                        + (nic == null ? "none of its interfaces has a host-side device here"
                        : "no address (no <ip> in its interface, no lease, no neighbour entry, no septum:address)"));
            }
            return null;
        }
        skipped.remove(key);
        Map<String, String> labels = new LinkedHashMap<>(d.labels());
        if (LABEL_VALUE.matcher(d.name()).matches()) labels.put(NAME_LABEL, d.name());
        Map<String, String> external = new LinkedHashMap<>();
        external.put(EXTERNAL_NAME, d.name());
        if (d.uuid() != null) external.put(EXTERNAL_UUID, d.uuid());
        return new EndpointSpec(key, d.name(), settings.namespace(), labels, nic.dev(), null,
                new ArrayList<>(ips), null, external);
    }

    private static void safely(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "source libvirt: the endpoint sink failed", e);
        }
    }

    private static String message(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String m = root.getMessage();
        return m == null ? root.getClass().getSimpleName() : m;
    }
}
