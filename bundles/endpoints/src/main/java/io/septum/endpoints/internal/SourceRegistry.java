package io.septum.endpoints.internal;

import io.septum.api.EditableEndpointSource;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.SourceHealth;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The bound endpoint sources by name, and the one thread ({@code septum-endpoints-sources}) that opens and closes
 * them, so that a source's own calls never run inside the caller's lock (DS binds under SCR's). The map is guarded by
 * the endpoint manager's lock: the queries take it, while {@link #add}, {@link #remove} and {@link #removeAll} are
 * called with it held, as one step with what the manager does to the source's endpoints.
 */
final class SourceRegistry {
    private static final Logger LOG = Logger.getLogger(SourceRegistry.class.getName());

    private final Object lock;
    private final Map<String, SourceConnection> sources = new LinkedHashMap<>();
    private final ExecutorService calls =
            Executors.newSingleThreadExecutor(DaemonThreads.named("septum-endpoints-sources"));

    SourceRegistry(Object lock) {
        this.lock = lock;
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

    /** Runs {@code task} on the sources' thread, in order with the opens and closes. */
    void execute(Runnable task) {
        calls.execute(task);
    }

    /** Opens the source on the sources' thread; a failure is its health. */
    void open(SourceConnection c) {
        calls.execute(() -> {
            try {
                c.source.open(c);
            } catch (RuntimeException e) {
                c.health = new SourceHealth(c.name, false, 0, "open failed: " + e.getMessage());
                LOG.log(Level.WARNING, "endpoint source " + c.name + " failed to open", e);
            }
        });
    }

    /** Closes the source on the sources' thread. */
    void close(SourceConnection c) {
        calls.execute(() -> closeNow(c));
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
                SourceHealth h = e.health;
                out.add(h != null ? new SourceHealth(e.name, h.connected(), Math.max(h.lastSync(), e.lastSync), h.error())
                        : new SourceHealth(e.name, true, e.lastSync, null));
            }
            return out;
        }
    }

    void shutdown() {
        calls.shutdownNow();
    }
}
