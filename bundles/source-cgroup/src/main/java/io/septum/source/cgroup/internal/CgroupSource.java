package io.septum.source.cgroup.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.EndpointSink;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.HealthReporter;
import io.septum.api.SourceHealth;
import io.septum.support.cgroup.CgroupMount;
import io.septum.support.source.ReportedSet;
import io.septum.support.source.SinkCalls;
import io.septum.support.source.WorkerThread;
import io.septum.support.thread.DaemonThreads;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;

/**
 * The {@code cgroup} endpoint source.
 *
 * <p>One thread scans: at open, every {@code scanIntervalSeconds}, whenever inotify reports a directory created or
 * removed in a watched parent, and when the configuration changes. Each scan is a full listing, reported as upserts
 * of what changed, removals of what went, and a {@code resync}. A configuration that does not parse changes nothing:
 * the source keeps its rules and shows the error in {@code septum status}.
 */
@Component(configurationPid = CgroupSource.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {EndpointSource.class, HealthReporter.class})
public final class CgroupSource implements EndpointSource, HealthReporter {
    static final String PID = "io.septum.source.cgroup";
    static final String NAME = "cgroup";
    static final String EXTERNAL_PATH = "cgroup-path";
    static final String EXTERNAL_ID = "cgroup-id";
    static final String EXTERNAL_RULE = "cgroup-rule";
    private static final Logger LOG = Logger.getLogger(CgroupSource.class.getName());

    private volatile Rules.Settings settings = Rules.Settings.EMPTY;
    private volatile String configError;
    private volatile Path root;
    private volatile String rootError;
    private volatile int endpointCount;

    private final Object lock = new Object();
    private EndpointSink sink;
    private final WorkerThread worker = new WorkerThread("septum-source-cgroup");
    private ScheduledFuture<?> periodic;
    private WatchService watcher;
    private Thread watchThread;
    private final AtomicBoolean scanQueued = new AtomicBoolean();
    // Touched only on the worker thread.
    private final ReportedSet<EndpointSpec> reported = new ReportedSet<>(EndpointSpec::sourceId);
    private final Map<Path, WatchKey> watched = new HashMap<>();

    @Activate
    public CgroupSource(Map<String, Object> config) {
        configure(config);
    }

    /** FileInstall edits of etc/io.septum.source.cgroup.cfg arrive here without deactivating: endpoints stay. */
    @Modified
    void modified(Map<String, Object> config) {
        configure(config);
        int interval = settings.scanIntervalSeconds();
        synchronized (lock) {
            if (worker.running()) {
                schedulePeriodic(interval);
                requestScan();
            }
        }
    }

    private void configure(Map<String, Object> config) {
        try {
            settings = Rules.parse(config == null ? Map.of() : config);
            configError = null;
            LOG.info("source cgroup: " + settings.rules().size() + " rule(s)");
        } catch (IllegalArgumentException e) {
            configError = e.getMessage() + "; the previous rules stay in force";
            LOG.warning("source cgroup: " + configError);
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void open(EndpointSink sink) {
        synchronized (lock) {
            if (!worker.start()) throw new IllegalStateException("source cgroup is already open");
            this.sink = sink;
            try {
                watcher = FileSystems.getDefault().newWatchService();
                watchThread = DaemonThreads.start("septum-source-cgroup-watch", this::watchLoop);
            } catch (IOException e) {
                LOG.warning("source cgroup: no inotify watch (" + e.getMessage() + "); relying on the periodic scan");
            }
            schedulePeriodic(settings.scanIntervalSeconds());
            requestScan();
        }
    }

    private void schedulePeriodic(int seconds) {
        if (periodic != null) periodic.cancel(false);
        periodic = worker.scheduleWithFixedDelay(this::requestScan, Duration.ofSeconds(seconds), Duration.ofSeconds(seconds));
    }

    @Override
    @Deactivate
    public void close() {
        WatchService w;
        Thread t;
        synchronized (lock) {
            w = watcher;
            t = watchThread;
            watcher = null;
            watchThread = null;
        }
        if (w != null) {
            try {
                w.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        if (t != null) t.interrupt();
        worker.stopNow(Duration.ZERO);
    }

    @Override
    public ComponentStatus health() {
        if (rootError != null) return new ComponentStatus("source-cgroup", "failed", rootError);
        if (configError != null) return new ComponentStatus("source-cgroup", "degraded", configError);
        return ComponentStatus.ok("source-cgroup", endpointCount + " endpoints from " + settings.rules().size()
                + " rule(s) under " + (root == null ? "(cgroup v2 mount not found yet)" : root));
    }

    /** Asks for a scan; one already queued covers this request. */
    void requestScan() {
        if (!scanQueued.compareAndSet(false, true)) return;
        boolean queued = worker.execute(() -> {
            scanQueued.set(false);
            scan();
        });
        if (!queued) scanQueued.set(false);
    }

    private void watchLoop() {
        WatchService w;
        synchronized (lock) {
            w = watcher;
        }
        while (w != null) {
            try {
                WatchKey key = w.take();
                key.pollEvents();
                key.reset();
                requestScan();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            }
        }
    }

    private Path root() {
        Rules.Settings s = settings;
        if (!s.cgroupRoot().isEmpty()) return Path.of(s.cgroupRoot());
        if (root != null) return root;
        try {
            return CgroupMount.find();
        } catch (IOException e) {
            return null;
        }
    }

    /** One full listing, reported to the sink; runs on the executor. */
    private void scan() {
        EndpointSink out;
        synchronized (lock) {
            out = sink;
            if (!worker.running()) return;
        }
        Path r = root();
        if (r == null) {
            rootError = "no cgroup v2 mount in " + CgroupMount.MOUNTINFO + " (mount -t cgroup2 none /sys/fs/cgroup/unified)";
            safely(() -> out.health(new SourceHealth(NAME, false, 0, rootError)));
            return;
        }
        root = r;
        rootError = null;
        Scanner.Result result = Scanner.scan(r, settings.rules());
        for (String o : result.overlaps()) LOG.fine("source cgroup: " + o);
        Map<String, EndpointSpec> now = new LinkedHashMap<>();
        for (Scanner.Match m : result.matches().values()) now.put(m.relative(), spec(m));
        // the same path with another cgroup id is a new cgroup: the old one's endpoint goes first
        List<String> gone = reported.removeIf((id, had) -> {
            EndpointSpec is = now.get(id);
            return is == null || !had.externalIds().get(EXTERNAL_ID).equals(is.externalIds().get(EXTERNAL_ID));
        });
        for (String id : gone) safely(() -> out.remove(id));
        for (EndpointSpec s : now.values()) {
            if (reported.update(s)) safely(() -> out.upsert(s));
        }
        safely(() -> out.resync(List.copyOf(now.keySet())));
        endpointCount = now.size();
        safely(() -> out.health(new SourceHealth(NAME, true, System.currentTimeMillis(), configError)));
        updateWatches(result);
    }

    private void updateWatches(Scanner.Result result) {
        WatchService w;
        synchronized (lock) {
            w = watcher;
        }
        if (w == null) return;
        watched.entrySet().removeIf(e -> {
            if (result.watch().contains(e.getKey()) && e.getValue().isValid()) return false;
            e.getValue().cancel();
            return true;
        });
        for (Path dir : result.watch()) {
            if (watched.containsKey(dir)) continue;
            try {
                watched.put(dir, dir.register(w, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE));
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.FINE, "source cgroup: cannot watch " + dir, e);
            }
        }
    }

    static EndpointSpec spec(Scanner.Match m) {
        Map<String, String> external = new LinkedHashMap<>();
        external.put(EXTERNAL_PATH, m.relative());
        external.put(EXTERNAL_ID, Long.toString(m.cgroupId()));
        external.put(EXTERNAL_RULE, m.rule().name());
        return new EndpointSpec(m.relative(), Scanner.endpointName(m.path()), m.rule().namespace(), m.rule().labels(),
                null, null, m.rule().addresses(), m.path().toString(), external);
    }

    private static void safely(Runnable r) {
        SinkCalls.guarded(LOG, "source cgroup: the endpoint sink failed", r);
    }
}
