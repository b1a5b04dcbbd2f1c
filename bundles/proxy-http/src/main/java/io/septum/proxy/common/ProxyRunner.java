package io.septum.proxy.common;

import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathException;
import io.septum.api.ComponentStatus;
import io.septum.support.thread.DaemonThreads;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What a proxy component does around its listener, the same for the HTTP and the DNS proxy: the listener starts
 * on an executor (never in activate); once it listens, the datapath is told its port, and only then does the
 * datapath redirect to it. Until then, and whenever it cannot listen, the datapath's port for it is 0 and what it
 * would judge is dropped: fail closed. The datapath comes from {@link ProxyInputs}, which also hands the proxy's
 * flows to the flow sinks. On close the port is set back to 0 off the deactivating thread, which may hold what the
 * datapath waits for.
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
    private final ProxyInputs inputs;
    private final Consumer<Datapath> onDatapath = dp -> bindDatapath();
    private final ScheduledExecutorService executor;
    private volatile String failure = "starting";
    private volatile String datapathFailure;
    private volatile InetSocketAddress bound;
    private volatile boolean closed;

    /** @param name what log lines call it ({@code L7 proxy}, {@code DNS proxy}); threads are {@code thread-start} */
    public ProxyRunner(String name, String thread, Logger log, Listener listener, PortSetter portSetter,
            ProxyInputs inputs) {
        this.name = name;
        this.log = log;
        this.listener = listener;
        this.portSetter = portSetter;
        this.inputs = inputs;
        this.executor = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named(thread + "-start"));
        inputs.started(name, this);
        inputs.addDatapathListener(onDatapath);
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

    private void bindDatapath() {
        if (!executor.isShutdown()) executor.execute(this::tellDatapath);
    }

    /** On the executor: setting the port may wait for the datapath to load. */
    private void tellDatapath() {
        Datapath dp = inputs.datapath();
        InetSocketAddress b = bound;
        if (dp == null || b == null || closed) return;
        inputs.changePort(name, this, false, () -> {
            try {
                portSetter.set(dp, b.getPort());
                datapathFailure = null;
            } catch (Exception e) {
                datapathFailure = e.getMessage();
                log.log(Level.WARNING, "cannot tell the datapath the " + name + " port: " + e.getMessage(), e);
            }
        });
    }

    /**
     * The proxy's line in status: starting, cannot listen, listening but not redirected to, or {@code ok} with the
     * port it listens on.
     *
     * @param closed what is refused meanwhile ({@code L7-governed ports are closed})
     * @param listeningOn the words before the port when the datapath does not redirect ({@code listening on port })
     */
    public ComponentStatus health(String component, String closed, String listeningOn, IntFunction<String> ok) {
        String f = failure;
        if ("starting".equals(f)) return new ComponentStatus(component, "degraded", "starting; " + closed + " meanwhile");
        if (f != null) return ComponentStatus.failed(component, "cannot listen: " + f + "; " + closed + " (fail closed)");
        int port = bound.getPort();
        String d = datapathFailure;
        if (d != null) return ComponentStatus.failed(component, listeningOn + port
                + " but the datapath does not redirect to it: " + d + "; " + closed);
        return ComponentStatus.ok(component, ok.apply(port));
    }

    @Override
    public void close() {
        closed = true;
        inputs.removeDatapathListener(onDatapath);
        executor.shutdownNow();
        Datapath dp = inputs.datapath();
        if (dp != null && bound != null) {
            // a stopped proxy must not leave redirected traffic waiting on a port someone else could take; after
            // a port setting still under way on the executor, so that it cannot set the port again afterwards
            DaemonThreads.start(name.replace(' ', '-') + "-stop", () -> {
                try {
                    executor.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                // unless a restarted instance of this proxy has its own port in place by now
                inputs.changePort(name, this, true, () -> {
                    try {
                        portSetter.set(dp, 0);
                    } catch (Exception e) {
                        log.log(Level.FINE, "cannot clear the " + name + " port", e);
                    }
                });
            });
        }
    }
}
