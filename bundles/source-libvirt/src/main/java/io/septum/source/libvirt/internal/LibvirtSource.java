package io.septum.source.libvirt.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.EndpointSink;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.HealthReporter;
import io.septum.api.SourceHealth;
import io.septum.support.source.Backoff;
import io.septum.support.source.ReportedSet;
import io.septum.support.source.SinkCalls;
import io.septum.support.source.WorkerThread;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
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

import static io.septum.support.source.Failures.rootMessage;

/**
 * The {@code libvirt} endpoint source.
 *
 * <p>It lists the running domains, then follows libvirt's domain events through a {@code virsh event --loop} child
 * process ({@link EventStream}) rather than libvirt-java's events: those need libvirt's process-wide default event
 * loop ({@code virEventRegisterDefaultImpl}, which cannot be unregistered) calling back from a native thread, and
 * this bundle is replaced at runtime with a fresh class loader and a fresh copy of JNA each time; the child is killed
 * on close and leaves nothing behind. Each lifecycle, metadata or device event of a domain reconciles that domain
 * at once (one lookup and one XML dump); a full listing every {@code pollIntervalSeconds} (30 s by default) stays as
 * the safety net for whatever no event reports (an address that appears later, a tap renamed, events lost while
 * virsh restarts), and a full listing follows every (re)start of the child to cover the moment before it subscribed.
 * A running domain that is not an endpoint yet (no address: its DHCP lease comes after it started) is re-read every
 * second for a minute after its event. When the child dies it is restarted with backoff, and a listing right away
 * tells whether libvirtd itself went away. When libvirtd is away the endpoints are kept as they are (their domains
 * most likely still run), the status says so, and the first listing after reconnecting reconciles with a
 * {@code resync}. All libvirt calls and all state live on one executor thread.
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
    /** How long a running domain that is no endpoint yet is re-read every second after its event. */
    private static final Duration PENDING = Duration.ofMinutes(1);
    private static final Pattern LABEL_VALUE = Pattern.compile("[A-Za-z0-9._-]{0,63}");

    @ObjectClassDefinition(name = "Septum libvirt endpoint source")
    @interface Config {
        @AttributeDefinition(description = "The libvirt connection URI, e.g. qemu:///system, lxc:///system, test:///default")
        String uri() default "qemu:///system";

        @AttributeDefinition(description = "The namespace of every domain endpoint (a DNS label); never taken from"
                + " the domain's own metadata")
        String namespace() default "default";

        @AttributeDefinition(description = "Seconds between two full listings of the running domains; domain"
                + " events trigger a reconcile at once, so this is only the safety net")
        int pollIntervalSeconds() default 30;

        @AttributeDefinition(description = "Longest wait in seconds between reconnect attempts to libvirtd")
        int maxBackoffSeconds() default 30;

        @AttributeDefinition(description = "Where libvirt's networks keep their DHCP leases (dnsmasq *.status files)")
        String leaseDir() default "/var/lib/libvirt/dnsmasq";

        @AttributeDefinition(description = "The virsh program whose 'event --all --loop' the source follows;"
                + " empty: no events, full listings only")
        String virsh() default "virsh";
    }

    /** Everything the source is configured with; in the agent it comes from config pid {@value #PID}. */
    record Settings(String uri, String namespace, Duration pollInterval, Duration maxBackoff, Path leaseDir,
                    String virsh) {
        Settings(String uri, String namespace, Duration pollInterval, Duration maxBackoff, Path leaseDir) {
            this(uri, namespace, pollInterval, maxBackoff, leaseDir, "virsh");
        }

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
            virsh = virsh == null ? "" : virsh.strip();
        }

        /** Whether domain events are followed at all. */
        boolean events() {
            return !virsh.isEmpty();
        }
    }

    private final Settings settings;
    private final Addresses addresses;
    private final Path sysClassNet;
    private final WorkerThread worker = new WorkerThread("septum-source-libvirt");

    // Touched only on the worker thread.
    private final ReportedSet<EndpointSpec> reported = new ReportedSet<>(EndpointSpec::sourceId);
    private final Set<String> skipped = new HashSet<>();
    private Connect conn;
    private final Backoff backoff;
    private ScheduledFuture<?> nextPoll;
    private EventStream events;
    private long eventsStartedAt;
    private final Backoff eventBackoff;
    private boolean eventRestartScheduled;
    /** Running domains without an endpoint yet, by name, until when (nanoTime) they are re-read every second. */
    private final Map<String, Long> pending = new LinkedHashMap<>();
    private boolean pendingScheduled;

    private EndpointSink sink;
    private volatile boolean connected;
    private volatile String lastError;
    private volatile long lastSync;
    private volatile int endpointCount;
    private volatile String eventsError;
    private volatile boolean following;
    private volatile EventStream liveEvents;

    @Activate
    public LibvirtSource(Config config) {
        this(new Settings(config.uri(), config.namespace(), Duration.ofSeconds(config.pollIntervalSeconds()),
                Duration.ofSeconds(config.maxBackoffSeconds()), Path.of(config.leaseDir()), config.virsh()),
                Path.of("/sys/class/net"), Path.of("/proc/net/arp"));
    }

    LibvirtSource(Settings settings, Path sysClassNet, Path arpTable) {
        this.settings = settings;
        this.sysClassNet = sysClassNet;
        this.addresses = new Addresses(settings.leaseDir(), arpTable);
        this.backoff = new Backoff(Duration.ofSeconds(1), settings.maxBackoff());
        this.eventBackoff = new Backoff(Duration.ofSeconds(1), settings.maxBackoff());
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void open(EndpointSink sink) {
        if (!worker.start()) throw new IllegalStateException("source libvirt is already open");
        this.sink = sink;
        // A source closed and opened again starts afresh: tasks of the old thread were dropped unrun.
        nextPoll = null;
        events = null;
        eventRestartScheduled = false;
        eventBackoff.reset();
        pending.clear();
        pendingScheduled = false;
        worker.execute(this::poll);
    }

    @Override
    @Deactivate
    public void close() {
        boolean wasOpen = worker.stop(() -> {
            stopEvents();
            disconnect();
            reported.clear();
        }, Duration.ofSeconds(10), e -> LOG.log(Level.WARNING,
                "source libvirt: closing the connection to " + settings.uri() + " failed", e));
        if (!wasOpen) return;
        // If the worker thread was stuck in libvirt, the child must still not outlive the bundle.
        EventStream es = liveEvents;
        if (es != null) es.close();
        connected = false;
        following = false;
    }

    @Override
    public ComponentStatus health() {
        if (!connected) {
            return new ComponentStatus("source-libvirt", "degraded", "libvirt at " + settings.uri()
                    + " unreachable: " + lastError + "; reconnecting, " + endpointCount + " endpoints kept");
        }
        String how = following ? "following domain events, full listing every " + settings.pollInterval().toSeconds() + " s"
                : !settings.events() ? "events off (virsh=), full listing every " + settings.pollInterval().toSeconds() + " s"
                : "domain events not followed (" + eventsError + "), full listing every "
                        + settings.pollInterval().toSeconds() + " s";
        return ComponentStatus.ok("source-libvirt", endpointCount + " endpoints from " + settings.uri() + "; " + how);
    }

    /** Makes sure a full listing runs within {@code wait}: an earlier one already scheduled is kept. */
    private void schedulePoll(Duration wait) {
        if (nextPoll != null && !nextPoll.isDone() && nextPoll.getDelay(TimeUnit.MILLISECONDS) <= wait.toMillis()) {
            return;
        }
        if (nextPoll != null) nextPoll.cancel(false);
        nextPoll = worker.schedule(this::poll, wait);
    }

    /** One listing: connect if needed, follow events, report every running domain, resync; then the next one. */
    private void poll() {
        // The task now running is the one scheduled: it no longer counts as "a listing to come".
        if (nextPoll != null && nextPoll.getDelay(TimeUnit.MILLISECONDS) <= 0) nextPoll = null;
        try {
            if (conn == null) conn = new Connect(settings.uri(), true);
            // Subscribe before listing, so that a change after the listing is an event (see startEvents).
            startEvents();
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
                    if (!alive()) throw new Lost("connection lost while reading domain id " + id + ": " + rootMessage(e));
                    // Stopped between the listing and the lookup, or an XML we cannot read: the next poll decides.
                    LOG.log(Level.FINE, "source libvirt: domain id " + id + ": " + e.getMessage());
                    continue;
                }
                if (spec == null) continue;
                live.add(spec.sourceId());
                if (reported.update(spec)) safely(() -> sink.upsert(spec));
            }
            reported.retainAll(live);
            endpointCount = reported.size();
            safely(() -> sink.resync(live));
            lastSync = System.currentTimeMillis();
            if (!connected) {
                connected = true;
                lastError = null;
                backoff.reset();
                LOG.info("source libvirt: connected to " + settings.uri() + ", " + live.size() + " running domains");
            }
            safely(() -> sink.health(new SourceHealth(NAME, true, lastSync, null)));
            schedulePoll(settings.pollInterval());
        } catch (Lost e) {
            lost(e.getMessage());
        } catch (LibvirtException | RuntimeException e) {
            lost("cannot reach libvirt at " + settings.uri() + ": " + rootMessage(e));
        } catch (Error e) {
            // JNA could not load libvirt.so.0 (UnsatisfiedLinkError): say so in status and keep trying, the
            // operator may install it.
            lost("libvirt client library unusable: " + rootMessage(e));
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
        schedulePoll(backoff.next());
    }

    /**
     * Starts the {@code virsh event} child unless it runs, is off, or is backing off. A full listing follows two
     * seconds later: virsh subscribes a few milliseconds after it starts, and a domain that changed in between and
     * after the current listing would otherwise wait for the safety net.
     */
    private void startEvents() {
        if (events != null || !settings.events() || eventRestartScheduled) return;
        EventStream es = new EventStream(EventStream.virshCommand(settings.virsh(), settings.uri()), new EventStream.Listener() {
            @Override
            public void event(DomainEvent e) {
                if (e.relevant()) worker.execute(() -> onEvent(e));
            }

            @Override
            public void ended(String reason) {
                worker.execute(() -> onEventsEnded(reason));
            }
        });
        // Set before start: a child that dies at once reports on the executor, after this method returns.
        events = es;
        liveEvents = es;
        eventsStartedAt = System.nanoTime();
        try {
            es.start();
        } catch (IOException | RuntimeException e) {
            events = null;
            liveEvents = null;
            onEventsEnded("cannot start " + settings.virsh() + ": " + rootMessage(e));
            return;
        }
        following = true;
        LOG.info("source libvirt: following domain events of " + settings.uri() + " (virsh pid " + es.pid() + ")");
        schedulePoll(Duration.ofSeconds(2));
    }

    private void stopEvents() {
        EventStream es = events;
        events = null;
        liveEvents = null;
        following = false;
        if (es != null) es.close();
    }

    /**
     * The child ended: list now (which tells whether libvirtd went away) and start it again after a backoff that
     * doubles while it keeps dying young and resets once it ran for a minute.
     */
    private void onEventsEnded(String reason) {
        events = null;
        liveEvents = null;
        following = false;
        eventsError = reason;
        if (Duration.ofNanos(System.nanoTime() - eventsStartedAt).compareTo(Duration.ofMinutes(1)) > 0) {
            eventBackoff.reset();
        }
        Duration wait = eventBackoff.next();
        LOG.warning("source libvirt: " + reason + "; listing every " + settings.pollInterval().toSeconds()
                + " s until it runs again, next try in " + wait.toMillis() + " ms");
        eventRestartScheduled = true;
        worker.schedule(() -> {
            eventRestartScheduled = false;
            // Disconnected: the listing that reconnects starts it.
            if (conn != null) startEvents();
        }, wait);
        schedulePoll(Duration.ZERO);
    }

    /** A domain event: reconcile that domain now. Disconnected, the listing that reconnects sees it anyway. */
    private void onEvent(DomainEvent e) {
        LOG.fine(() -> "source libvirt: event " + e);
        if (conn == null) return;
        long t0 = System.nanoTime();
        int changes = reconcile(e.domain(), e.exact());
        if (changes != 0) {
            // Rare (a domain started, stopped or relabelled) and what an operator looks for: say it.
            LOG.info("source libvirt: event '" + e.kind() + "' " + e.detail() + " for domain " + e.domain()
                    + ": endpoint " + (changes > 0 ? "reported" : "removed") + " in "
                    + (System.nanoTime() - t0) / 1_000_000 + " ms");
        }
    }

    /**
     * Reads one domain by name and reports what it is now: an endpoint (upsert if changed), or nothing (remove
     * whatever endpoint had that name). A name that was a guess (see {@link DomainEvent#exact}) and finds no domain
     * asks for a full listing instead. Returns 1 if an endpoint was reported, -1 if one was removed, else 0.
     */
    private int reconcile(String name, boolean exact) {
        if (conn == null) return 0;
        EndpointSpec spec = null;
        boolean found;
        try {
            Domain d = conn.domainLookupByName(name);
            try {
                found = true;
                if (d.isActive() == 1) {
                    spec = describe(d.getXMLDesc(0));
                    if (spec == null) pending.putIfAbsent(name, System.nanoTime() + PENDING.toNanos());
                }
            } finally {
                d.free();
            }
        } catch (LibvirtException e) {
            if (!alive()) {
                lost("connection lost while reading domain " + name + ": " + rootMessage(e));
                return 0;
            }
            // No such domain (a transient one destroyed, one undefined), or it stopped meanwhile.
            found = false;
        } catch (IOException e) {
            LOG.log(Level.FINE, "source libvirt: domain " + name + ": " + e.getMessage());
            found = true;
        }
        if (spec != null || !found) pending.remove(name);
        if (!found && !exact) {
            schedulePoll(Duration.ZERO);
            return 0;
        }
        int changes = 0;
        String keep = spec == null ? null : spec.sourceId();
        for (String id : reported.removeIf((id, had) -> name.equals(had.name()) && !id.equals(keep))) {
            safely(() -> sink.remove(id));
            changes = -1;
        }
        if (spec != null && reported.update(spec)) {
            EndpointSpec s = spec;
            safely(() -> sink.upsert(s));
            changes = 1;
        }
        endpointCount = reported.size();
        if (!pending.isEmpty() && !pendingScheduled) {
            pendingScheduled = true;
            worker.schedule(this::retryPending, Duration.ofSeconds(1));
        }
        return changes;
    }

    /** Re-reads the running domains that were not endpoints yet after their event, until they are or time is up. */
    private void retryPending() {
        pendingScheduled = false;
        long now = System.nanoTime();
        pending.values().removeIf(deadline -> deadline - now < 0);
        for (String name : List.copyOf(pending.keySet())) reconcile(name, true);
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
                new ArrayList<>(ips), null, external, d.ports());
    }

    private static void safely(Runnable r) {
        SinkCalls.guarded(LOG, "source libvirt: the endpoint sink failed", r);
    }
}
