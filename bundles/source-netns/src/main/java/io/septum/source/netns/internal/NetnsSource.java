package io.septum.source.netns.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.api.ComponentStatus;
import io.septum.api.EditableEndpointSource;
import io.septum.api.EndpointSink;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.HealthReporter;
import io.septum.api.SourceHealth;
import io.septum.source.netns.internal.Declarations.Declared;
import io.septum.support.config.AgentDirs;
import io.septum.support.io.AtomicFiles;
import io.septum.support.source.ReportedSet;
import io.septum.support.source.SinkCalls;
import io.septum.support.source.WorkerThread;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The {@code netns} endpoint source.
 *
 * <p>One thread does everything: it polls {@code etc/endpoints/} for changed files, re-scans every namespace on a
 * timer, and reports to the sink. A namespace that is gone removes its endpoint, and an endpoint the operator added for
 * it is forgotten (dropped from {@value #STATE_FILE}), as Cilium forgets the endpoint of a deleted pod: otherwise a record
 * the agent no longer shows could neither be deleted nor added again. Any other failure keeps the last good report and
 * the record, because removing an endpoint over a transient {@code ip} timeout would tear down its enforcement.
 */
@Component(configurationPid = NetnsSource.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {EndpointSource.class, HealthReporter.class})
@Designate(ocd = NetnsSource.Config.class)
public final class NetnsSource implements EditableEndpointSource, HealthReporter {
    static final String PID = "io.septum.source.netns";
    static final String NAME = "netns";
    static final String STATE_FILE = "netns-endpoints.json";
    private static final Logger LOG = Logger.getLogger(NetnsSource.class.getName());

    @ObjectClassDefinition(name = "Septum netns endpoint source")
    @interface Config {
        @AttributeDefinition(description = "Seconds between checks of etc/endpoints/*.yaml for changes")
        int pollIntervalSeconds() default 2;

        @AttributeDefinition(description = "Seconds between re-scans of every namespace's veth and addresses")
        int scanIntervalSeconds() default 5;

        @AttributeDefinition(description = "Seconds an ip/nsenter command may run before it is killed")
        int commandTimeoutSeconds() default 5;
    }

    /** Tunables and places; in the agent they come from framework properties and config pid {@value #PID}. */
    record Settings(Path endpointsDir, Path stateDir, Duration poll, Duration scan, Duration commandTimeout) {
    }

    private final Settings settings;
    private final NetnsInspector inspector;
    private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final Object lock = new Object();

    /** File name to its last good declarations. */
    private final Map<Path, List<Declared>> fromFiles = new TreeMap<>();
    private final Map<Path, String> fileErrors = new TreeMap<>();
    private Map<Path, String> fingerprint = Map.of();
    /** Operator additions, by source id. */
    private final Map<String, Declared> fromApi = new LinkedHashMap<>();
    /** What the sink was last told, by source id. */
    private final ReportedSet<EndpointSpec> reported = new ReportedSet<>(EndpointSpec::sourceId);
    private final Map<String, String> scanErrors = new TreeMap<>();
    private EndpointSink sink;
    private final WorkerThread worker = new WorkerThread("septum-source-netns");
    private volatile long lastScan;
    private volatile long lastFullScan;

    @Activate
    public NetnsSource(BundleContext ctx, Config config) {
        this(new Settings(AgentDirs.etcDir(ctx::getProperty).resolve("endpoints"), AgentDirs.stateDir(ctx::getProperty),
                seconds(config.pollIntervalSeconds(), "pollIntervalSeconds"),
                seconds(config.scanIntervalSeconds(), "scanIntervalSeconds"),
                seconds(config.commandTimeoutSeconds(), "commandTimeoutSeconds")));
    }

    NetnsSource(Settings settings) {
        this(settings, new CommandRunner(settings.commandTimeout()));
    }

    /** With the runner for {@code ip}/{@code nsenter}; tests pass one that fails on demand. */
    NetnsSource(Settings settings, CommandRunner runner) {
        this.settings = settings;
        this.inspector = new NetnsInspector(runner);
        loadApiEndpoints();
    }

    private static Duration seconds(int n, String name) {
        if (n < 1) throw new IllegalArgumentException("config " + PID + ": " + name + " must be at least 1, got " + n);
        return Duration.ofSeconds(n);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void open(EndpointSink sink) {
        synchronized (lock) {
            if (!worker.start()) throw new IllegalStateException("source netns is already open");
            this.sink = sink;
            // Everything already reported belongs to the previous sink; report afresh.
            reported.clear();
            fingerprint = Map.of();
            worker.scheduleWithFixedDelay(this::tick, Duration.ZERO, settings.poll());
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            sink = null;
        }
        // Not under the lock: the scan being interrupted may need it to finish.
        worker.stopNow(settings.commandTimeout().plusSeconds(1));
    }

    @Deactivate
    void deactivate() {
        close();
    }

    // ------------------------------------------------------------------ operator requests

    @Override
    public void add(EndpointSpec spec) {
        String name = spec.name() != null ? spec.name() : spec.sourceId();
        String netns = spec.netns() != null ? spec.netns() : name;
        Declared d;
        try {
            d = Declarations.validate(new Declared(name, blankToNull(spec.namespace()), netns,
                    blankToNull(spec.interfaceName()), spec.labels(), spec.addresses(), spec.externalIds(), "api",
                    spec.ports()),
                    "endpoint");
        } catch (Declarations.InvalidException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        // Check now, so the operator gets the reason instead of an endpoint that never appears.
        NetnsInspector.Discovery found;
        try {
            found = inspector.inspect(d.netns(), d.interfaceName(), null);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot add endpoint " + d.sourceId() + ": " + e.getMessage());
        }
        synchronized (lock) {
            for (var e : fromFiles.entrySet()) {
                for (Declared f : e.getValue()) {
                    if (f.sourceId().equals(d.sourceId())) {
                        throw new IllegalArgumentException("endpoint " + d.sourceId() + " is already declared in "
                                + e.getKey() + "; change it there or pick another name");
                    }
                }
            }
            Declared old = fromApi.get(d.sourceId());
            if (old != null) {
                // A record whose namespace is gone is stale (its workload went away), whether or not a scan has
                // noticed yet: the new endpoint takes the name, as a re-created pod or container would.
                if (!forgetIfGone(old, "replaced by a new endpoint of the same name in netns " + d.netns())) {
                    throw new IllegalArgumentException("endpoint " + d.sourceId() + " already exists (netns "
                            + old.netns() + "); delete it first");
                }
            }
            fromApi.put(d.sourceId(), d);
            try {
                saveApiEndpoints();
            } catch (IOException e) {
                fromApi.remove(d.sourceId());
                throw new IllegalStateException("cannot persist endpoint " + d.sourceId() + " to "
                        + settings.stateDir().resolve(STATE_FILE) + ": " + e.getMessage(), e);
            }
        }
        // Reported on the scan thread, so that a scan already running cannot resync it away; and without a full
        // rescan, so that adding n endpoints costs n inspections, not n squared.
        onScanThread(() -> report(d, found));
    }

    @Override
    public void delete(String sourceId) {
        synchronized (lock) {
            if (fromApi.remove(sourceId) == null) {
                for (var e : fromFiles.entrySet()) {
                    for (Declared f : e.getValue()) {
                        if (f.sourceId().equals(sourceId)) {
                            throw new IllegalArgumentException("endpoint " + sourceId + " is declared in " + e.getKey()
                                    + "; remove it from that file");
                        }
                    }
                }
                throw new IllegalArgumentException("source netns has no endpoint " + sourceId);
            }
            try {
                saveApiEndpoints();
            } catch (IOException e) {
                LOG.log(Level.SEVERE, "cannot persist the deletion of " + sourceId + "; it comes back after a restart", e);
            }
        }
        onScanThread(() -> {
            EndpointSink s;
            synchronized (lock) {
                reported.remove(sourceId);
                s = sink;
            }
            if (s != null) safely(() -> s.remove(sourceId));
        });
    }

    /**
     * Drops an operator-added record whose network namespace is positively gone, and persists that; a namespace that
     * merely cannot be inspected (an {@code ip} timeout or error) keeps its record. Caller holds {@link #lock}.
     *
     * @return whether the record was dropped
     */
    private boolean forgetIfGone(Declared d, String what) {
        // By identity: a concurrent delete and re-add under the same name must not lose the new record.
        if (fromApi.get(d.sourceId()) != d || !NetnsInspector.gone(d.netns())) return false;
        fromApi.remove(d.sourceId());
        Path file = settings.stateDir().resolve(STATE_FILE);
        LOG.info("endpoint " + d.sourceId() + " (added with `septum endpoint add`) " + what + ": its network namespace "
                + d.netns() + " no longer exists (" + NetnsInspector.pathOf(d.netns()) + ")");
        try {
            saveApiEndpoints();
        } catch (IOException e) {
            // Not fatal: after a restart the record is loaded again and, its namespace still gone, dropped again.
            LOG.log(Level.WARNING, "cannot persist forgetting endpoint " + d.sourceId() + " to " + file + ": "
                    + e.getMessage(), e);
        }
        return true;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private void onScanThread(Runnable task) {
        // Dropped when closed or closing: the next open() reports everything afresh.
        worker.execute(task);
    }

    private EndpointSpec specOf(Declared d, NetnsInspector.Discovery found) {
        List<String> addresses = d.addresses().isEmpty() ? found.addresses() : d.addresses();
        Map<String, String> ids = new TreeMap<>(d.externalIds());
        ids.put("netns", d.netns());
        // A veth re-created under the same name gets a new index; reporting it makes the manager re-attach.
        ids.put("hostIfindex", String.valueOf(found.hostIfindex()));
        return new EndpointSpec(d.sourceId(), d.name(), d.namespace(), d.labels(), found.hostInterface(), d.netns(),
                addresses, null, ids, d.ports());
    }

    /** Reports one endpoint if it changed; runs on the scan thread. */
    private void report(Declared d, NetnsInspector.Discovery found) {
        EndpointSpec spec = specOf(d, found);
        EndpointSink s;
        boolean changed;
        synchronized (lock) {
            s = sink;
            changed = reported.update(spec);
        }
        if (changed && s != null) safely(() -> s.upsert(spec));
    }

    // ------------------------------------------------------------------ persistence of operator additions

    private void loadApiEndpoints() {
        Path file = settings.stateDir().resolve(STATE_FILE);
        if (!Files.exists(file)) return;
        try {
            JsonNode root = json.readTree(file.toFile());
            for (JsonNode n : root.path("endpoints")) {
                Map<String, String> labels = new TreeMap<>();
                n.path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
                List<String> addresses = new ArrayList<>();
                n.path("addresses").forEach(a -> addresses.add(a.asText()));
                Map<String, String> externalIds = new TreeMap<>();
                n.path("externalIds").fields().forEachRemaining(e -> externalIds.put(e.getKey(), e.getValue().asText()));
                Declared d = Declarations.validate(new Declared(n.path("name").asText(null),
                        n.path("namespace").asText(null), n.path("netns").asText(null),
                        n.path("interface").asText(null), labels, addresses, externalIds, "api",
                        Declarations.ports(n.path("ports"), file + ": ports")), file.toString());
                fromApi.put(d.sourceId(), d);
            }
        } catch (IOException | Declarations.InvalidException | RuntimeException e) {
            LOG.log(Level.SEVERE, "cannot read " + file + " (endpoints added with `septum endpoint add`): "
                    + e.getMessage() + "; fix or remove the file and restart the bundle", e);
            scanErrors.put("state", "cannot read " + file + ": " + e.getMessage());
        }
    }

    private void saveApiEndpoints() throws IOException {
        ObjectNode root = json.createObjectNode();
        root.put("version", 1);
        ArrayNode list = root.putArray("endpoints");
        for (Declared d : fromApi.values()) {
            ObjectNode n = list.addObject();
            n.put("name", d.name());
            if (d.namespace() != null) n.put("namespace", d.namespace());
            n.put("netns", d.netns());
            if (d.interfaceName() != null) n.put("interface", d.interfaceName());
            ObjectNode labels = n.putObject("labels");
            d.labels().forEach(labels::put);
            if (!d.addresses().isEmpty()) {
                ArrayNode a = n.putArray("addresses");
                d.addresses().forEach(a::add);
            }
            if (!d.externalIds().isEmpty()) {
                ObjectNode x = n.putObject("externalIds");
                d.externalIds().forEach(x::put);
            }
            if (!d.ports().isEmpty()) {
                ArrayNode ports = n.putArray("ports");
                for (var p : d.ports()) ports.addObject().put("name", p.name()).put("port", p.port())
                        .put("protocol", p.protocol());
            }
        }
        Path file = settings.stateDir().resolve(STATE_FILE);
        Files.createDirectories(file.getParent());
        AtomicFiles.write(file, json.writeValueAsBytes(root), AtomicFiles.OWNER_ONLY);
    }

    // ------------------------------------------------------------------ the scan thread

    private void tick() {
        try {
            boolean changed = reloadFiles();
            boolean due = System.currentTimeMillis() - lastFullScan >= settings.scan().toMillis();
            if (changed || due) scan(true);
        } catch (RuntimeException e) {
            // The thread must survive anything, or the source silently stops.
            LOG.log(Level.SEVERE, "netns scan failed", e);
        }
    }

    /** Re-reads the declaration files whose size or mtime changed; returns whether declarations changed. */
    private boolean reloadFiles() {
        Path dir = settings.endpointsDir();
        Map<Path, String> now = new TreeMap<>();
        if (Files.isDirectory(dir)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.{yaml,yml}")) {
                for (Path p : ds) {
                    if (!Files.isRegularFile(p)) continue;
                    now.put(p, Files.size(p) + ":" + Files.getLastModifiedTime(p).toMillis());
                }
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cannot list " + dir, e);
                return false;
            }
        }
        Map<Path, String> before;
        synchronized (lock) {
            before = fingerprint;
        }
        if (now.equals(before)) return false;
        boolean changed = false;
        for (Path gone : before.keySet()) {
            if (now.containsKey(gone)) continue;
            synchronized (lock) {
                changed |= fromFiles.remove(gone) != null;
                fileErrors.remove(gone);
            }
            LOG.info("endpoint declarations " + gone + " removed");
        }
        for (var e : now.entrySet()) {
            if (e.getValue().equals(before.get(e.getKey()))) continue;
            try {
                List<Declared> ds = Declarations.parseFile(e.getKey());
                synchronized (lock) {
                    changed |= !ds.equals(fromFiles.put(e.getKey(), ds));
                    fileErrors.remove(e.getKey());
                }
                LOG.info("endpoint declarations " + e.getKey() + ": " + ds.size() + " endpoints");
            } catch (Declarations.InvalidException ex) {
                // The file's previous declarations, if any, stay: a typo must not remove running endpoints.
                LOG.warning("ignoring " + e.getKey() + ": " + ex.getMessage());
                synchronized (lock) {
                    fileErrors.put(e.getKey(), ex.getMessage());
                }
            }
        }
        synchronized (lock) {
            fingerprint = now;
        }
        return changed;
    }

    /** Every declaration, files first in name order; a source id declared twice keeps its first declaration. */
    private List<Declared> declarations() {
        Map<String, Declared> all = new LinkedHashMap<>();
        synchronized (lock) {
            for (var e : fromFiles.entrySet()) {
                for (Declared d : e.getValue()) {
                    Declared first = all.putIfAbsent(d.sourceId(), d);
                    if (first != null && first != d) {
                        scanErrors.put(d.sourceId() + "@" + e.getKey(), "endpoint " + d.sourceId() + " in "
                                + e.getKey() + " is ignored: already declared in " + first.origin());
                    }
                }
            }
            for (Declared d : fromApi.values()) all.putIfAbsent(d.sourceId(), d);
        }
        return List.copyOf(all.values());
    }

    private void scan(boolean full) {
        EndpointSink s;
        synchronized (lock) {
            s = sink;
            scanErrors.keySet().removeIf(k -> !k.equals("state"));
        }
        if (s == null) return;
        List<Declared> all = declarations();
        JsonNode rootLinks = null;
        String rootError = null;
        try {
            rootLinks = inspector.rootLinks();
        } catch (IOException e) {
            rootError = e.getMessage();
        }
        Set<String> live = new LinkedHashSet<>();
        for (Declared d : all) {
            if (Thread.currentThread().isInterrupted()) return;
            String id = d.sourceId();
            EndpointSpec spec;
            try {
                if (rootLinks == null && d.interfaceName() == null) throw new IOException(rootError);
                spec = specOf(d, inspector.inspect(d.netns(), d.interfaceName(), rootLinks));
            } catch (NetnsInspector.GoneException e) {
                synchronized (lock) {
                    reported.remove(id);
                    // An operator's endpoint goes with its namespace, so that its name is free again; one declared in
                    // a file stays declared, and the error tells the operator to fix the file or the namespace.
                    if (!forgetIfGone(d, "forgotten")) scanErrors.put(id, e.getMessage());
                }
                continue;
            } catch (IOException | RuntimeException e) {
                EndpointSpec last;
                synchronized (lock) {
                    scanErrors.put(id, "endpoint " + id + ": " + e.getMessage());
                    last = reported.get(id);
                }
                LOG.fine(() -> "endpoint " + id + ": " + e.getMessage());
                // Keep what was reported: a failing ip command is not a vanished namespace.
                if (last != null) live.add(id);
                continue;
            }
            live.add(id);
            boolean changed;
            synchronized (lock) {
                changed = reported.update(spec);
            }
            if (changed) safely(() -> s.upsert(spec));
        }
        synchronized (lock) {
            reported.retainAll(live);
            if (sink != s) return;
        }
        long now = System.currentTimeMillis();
        lastScan = now;
        if (full) lastFullScan = now;
        safely(() -> s.resync(live));
        String error = healthError();
        safely(() -> s.health(new SourceHealth(NAME, true, now, error)));
    }

    private static void safely(Runnable r) {
        SinkCalls.guarded(LOG, "the endpoint manager refused a report", r);
    }

    private String healthError() {
        synchronized (lock) {
            List<String> all = new ArrayList<>(fileErrors.values());
            all.addAll(scanErrors.values());
            return all.isEmpty() ? null : String.join("; ", all);
        }
    }

    @Override
    public ComponentStatus health() {
        String error = healthError();
        int n;
        synchronized (lock) {
            n = reported.size();
        }
        if (error != null) return new ComponentStatus("source-netns", "degraded", n + " endpoints; " + error);
        return ComponentStatus.ok("source-netns", n + " endpoints");
    }

    /** For tests: declarations currently in force. */
    List<Declared> declared() {
        return declarations();
    }

    long lastScan() {
        return lastScan;
    }
}
