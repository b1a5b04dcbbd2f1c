package io.septum.proxy.common;

import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathException;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowSink;
import io.septum.support.thread.DaemonThreads;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What a proxy component does around its listener, the same for the HTTP and the DNS proxy: the listener starts
 * on an executor (never in activate); once it listens, the datapath is told its port, and only then does the
 * datapath redirect to it. Until then, and whenever it cannot listen, the datapath's port for it is 0 and what it
 * would judge is dropped: fail closed. Flows go to every bound {@link FlowSink}. On close the port is set back to 0
 * off the deactivating thread, which may hold what the datapath waits for.
 */
public final class ProxyRunner implements AutoCloseable {
    /** The proxy's own start: binds and returns the listener's address. */
    public interface Listener {
        InetSocketAddress start() throws Exception;
    }

    /** How the datapath learns this proxy's port ({@code Datapath::setProxyPort}, {@code ::setDnsProxyPort}). */
    public interface PortSetter {
        void set(Datapath datapath, int port) throws DatapathException;
    }

    private final String name;
    private final Logger log;
    private final Listener listener;
    private final PortSetter portSetter;
    private final ScheduledExecutorService executor;
    private final List<FlowSink> sinks = new CopyOnWriteArrayList<>();
    private volatile String failure = "starting";
    private volatile String datapathFailure;
    private volatile InetSocketAddress bound;
    private volatile Datapath datapath;

    /** @param name what log lines call it ({@code L7 proxy}, {@code DNS proxy}); threads are {@code thread-start} */
    public ProxyRunner(String name, String thread, Logger log, Listener listener, PortSetter portSetter) {
        this.name = name;
        this.log = log;
        this.listener = listener;
        this.portSetter = portSetter;
        this.executor = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named(thread + "-start"));
        executor.execute(this::start);
    }

    /** The executor that started the listener, for the component's own periodic work. */
    public ScheduledExecutorService executor() {
        return executor;
    }

    private void start() {
        try {
            bound = listener.start();
            failure = null;
            log.info(() -> name + " listening on port " + bound.getPort() + " (transparent)");
            tellDatapath();
        } catch (Exception | LinkageError e) {
            failure = e.getMessage();
            log.log(Level.SEVERE, "the " + name + " cannot start; what it would judge is dropped: " + e.getMessage(), e);
        }
    }

    public void bindDatapath(Datapath dp) {
        datapath = dp;
        if (!executor.isShutdown()) executor.execute(this::tellDatapath);
    }

    public void unbindDatapath(Datapath dp) {
        if (datapath == dp) datapath = null;
    }

    /** On the executor: setting the port may wait for the datapath to load. */
    private void tellDatapath() {
        Datapath dp = datapath;
        InetSocketAddress b = bound;
        if (dp == null || b == null) return;
        try {
            portSetter.set(dp, b.getPort());
            datapathFailure = null;
        } catch (Exception e) {
            datapathFailure = e.getMessage();
            log.log(Level.WARNING, "cannot tell the datapath the " + name + " port: " + e.getMessage(), e);
        }
    }

    public void addSink(FlowSink s) {
        sinks.add(s);
    }

    public void removeSink(FlowSink s) {
        sinks.remove(s);
    }

    public void publish(Flow f) {
        for (FlowSink s : sinks) {
            try {
                s.accept(f);
            } catch (RuntimeException e) {
                log.log(Level.FINE, "flow sink failed", e);
            }
        }
    }

    /** Why it does not listen ({@code "starting"} before it tried), or null when it does. */
    public String failure() {
        return failure;
    }

    /** Why the datapath does not know its port, or null. */
    public String datapathFailure() {
        return datapathFailure;
    }

    /** Where it listens, or null. */
    public InetSocketAddress bound() {
        return bound;
    }

    @Override
    public void close() {
        executor.shutdownNow();
        Datapath dp = datapath;
        if (dp != null && bound != null) {
            // a stopped proxy must not leave redirected traffic waiting on a port someone else could take
            DaemonThreads.start(name.replace(' ', '-') + "-stop", () -> {
                try {
                    portSetter.set(dp, 0);
                } catch (Exception e) {
                    log.log(Level.FINE, "cannot clear the " + name + " port", e);
                }
            });
        }
    }
}
