package io.septum.endpoints.internal;

import io.septum.api.EditableEndpointSource;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.SourceHealth;
import io.septum.support.thread.DaemonThreads;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The bound endpoint sources by name, and a thread of each source's own ({@code septum-source-<name>}) that opens and
 * closes it, so that a source's own calls never run inside the caller's lock (DS binds under SCR's), and a source
 * that blocks in {@code open} or {@code close} (the SPI forbids it; a faulty bundle may) holds up only itself: its
 * health then says so. The map is guarded by the endpoint manager's lock: the queries take it, while {@link #add},
 * {@link #remove} and {@link #removeAll} are called with it held, as one step with what the manager does to the
 * source's endpoints.
 */
final class SourceRegistry {
    private static final Logger LOG = Logger.getLogger(SourceRegistry.class.getName());
    /** How long {@code open} may take before the source's health says it is stuck there. */
    static final Duration STUCK_AFTER = Duration.ofSeconds(10);

    private final Object lock;
    private final Map<String, SourceConnection> sources = new LinkedHashMap<>();
    /** Each connection's own thread, in order its open, then its close. */
    private final Map<SourceConnection, ExecutorService> threads = new ConcurrentHashMap<>();
    /** Run on a source's thread before it is opened (the manager's restore must be done). */
    private final Runnable beforeOpen;
    private final Duration stuckAfter;
    private volatile boolean shut;

    SourceRegistry(Object lock) {
        this(lock, () -> { }, STUCK_AFTER);
    }

    SourceRegistry(Object lock, Runnable beforeOpen, Duration stuckAfter) {
        this.lock = lock;
        this.beforeOpen = beforeOpen;
        this.stuckAfter = stuckAfter;
    }

    /** A connection for {@code source} reporting to {@code reports}; null (logged) when its name is refused. */
    static SourceConnection connection(EndpointSource source, SourceConnection.Reports reports) {
        String name;
        try {
            name = source.name();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "an endpoint source failed to say its name; ignored", e);
            return null;
        }
        String bad = LabelRules.checkSourceName(name);
        if (bad != null) {
            LOG.warning("endpoint source " + source.getClass().getName() + " refused: " + bad);
            return null;
        }
        return new SourceConnection(name, source, reports);
    }

    /** Binds {@code c}; false (logged) when a source by that name is bound already. The caller holds the lock. */
    boolean add(SourceConnection c) {
        if (sources.containsKey(c.name)) {
            LOG.warning("a second endpoint source named " + c.name + " (" + c.source.getClass().getName()
                    + ") is ignored: source names must be unique");
            return false;
        }
        sources.put(c.name, c);
        return true;
    }

    /** Unbinds {@code source}, deaf from now on; null when it is not bound. The caller holds the lock. */
    SourceConnection remove(EndpointSource source) {
        SourceConnection c = sources.values().stream().filter(e -> e.source == source).findFirst().orElse(null);
        if (c == null) return null;
        sources.remove(c.name);
        c.closed = true;
        return c;
    }

    /** Unbinds every source; the caller holds the lock, and closes them ({@link #closeNow}) after it. */
    List<SourceConnection> removeAll() {
        List<SourceConnection> all = List.copyOf(sources.values());
        sources.clear();
        return all;
    }

    /** Opens the source on a thread of its own; a failure is its health. */
    void open(SourceConnection c) {
        ExecutorService t = threads.computeIfAbsent(c, k ->
                Executors.newSingleThreadExecutor(DaemonThreads.named("septum-source-" + c.name)));
        submit(c, t, () -> {
            beforeOpen.run();
            c.openingSince = System.nanoTime();
            try {
                c.source.open(c);
            } catch (RuntimeException e) {
                c.health = new SourceHealth(c.name, false, 0, "open failed: " + e.getMessage());
                LOG.log(Level.WARNING, "endpoint source " + c.name + " failed to open", e);
            } finally {
                c.openingSince = 0;
            }
        });
    }

    /** Closes the source on its thread (after its open), then lets the thread end. */
    void close(SourceConnection c) {
        ExecutorService t = threads.remove(c);
        if (t == null) {
            closeNow(c);
            return;
        }
        submit(c, t, () -> closeNow(c));
        t.shutdown();
    }

    private void submit(SourceConnection c, ExecutorService t, Runnable task) {
        try {
            t.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            if (!shut) LOG.warning("endpoint source " + c.name + ": its thread is gone; call dropped");
        }
    }

    /** Closes the source on this thread; it is deaf from now on. */
    static void closeNow(SourceConnection c) {
        c.closed = true;
        try {
            c.source.close();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "endpoint source " + c.name + " failed to close", e);
        }
    }

    SourceConnection get(String name) {
        synchronized (lock) {
            return sources.get(name);
        }
    }

    /** Hands an operator's endpoint to {@code source}, which reports it as any other. */
    void addFromOperator(String source, EndpointSpec spec) {
        SourceConnection c = get(source);
        if (c == null) {
            throw new IllegalArgumentException("endpoint source \"" + source + "\" is not running (running: "
                    + String.join(", ", names()) + "); install or start its bundle first");
        }
        if (!(c.source instanceof EditableEndpointSource editable)) {
            throw new IllegalArgumentException("endpoint source \"" + source + "\" does not take endpoints from the"
                    + " operator: it reports what its backend runs (sources that do: " + editableNames() + ")");
        }
        editable.add(spec);
    }

    private List<String> names() {
        synchronized (lock) {
            return List.copyOf(sources.keySet());
        }
    }

    private String editableNames() {
        synchronized (lock) {
            List<String> out = new ArrayList<>();
            sources.forEach((n, c) -> {
                if (c.source instanceof EditableEndpointSource) out.add(n);
            });
            return out.isEmpty() ? "none running" : String.join(", ", out);
        }
    }

    List<SourceHealth> health() {
        synchronized (lock) {
            List<SourceHealth> out = new ArrayList<>();
            for (SourceConnection e : sources.values()) {
                long opening = e.openingSince;
                if (opening != 0 && System.nanoTime() - opening > stuckAfter.toNanos()) {
                    out.add(new SourceHealth(e.name, false, e.lastSync, "open has not returned for "
                            + Duration.ofNanos(System.nanoTime() - opening).toSeconds() + " s: the source blocks in"
                            + " open() (a source must watch on threads of its own); other sources are not held up"));
                    continue;
                }
                SourceHealth h = e.health;
                String error = h == null ? null : h.error();
                String flooding = e.rate.flooding();
                if (flooding != null) error = error == null ? flooding : error + "; " + flooding;
                out.add(h != null ? new SourceHealth(e.name, h.connected(), Math.max(h.lastSync(), e.lastSync), error)
                        : new SourceHealth(e.name, true, e.lastSync, error));
            }
            return out;
        }
    }

    void shutdown() {
        shut = true;
        for (ExecutorService t : threads.values()) t.shutdownNow();
        threads.clear();
    }
}
