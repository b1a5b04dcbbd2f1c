package io.septum.datapath.ebpf.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.HealthReporter;
import io.septum.api.IpcacheEntry;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.datapath.DatapathEventListener;
import io.septum.api.datapath.DatapathException;
import io.septum.api.datapath.DatapathStats;
import io.septum.api.policy.PolicyEntry;
import io.septum.support.config.AgentDirs;
import io.septum.support.thread.DaemonThreads;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * The datapath service in the agent. The service registers at once; loading (bpffs, pins, programs) runs on an
 * executor, and calls wait for it (up to a bound) so that early callers do not fail spuriously. Deactivation
 * stops the event reader and closes the object, but never detaches programs or unpins maps: enforcement goes on
 * while the agent is down or restarting.
 */
@Component(name = "io.septum.datapath", service = {Datapath.class, HealthReporter.class}, immediate = true)
public final class DatapathComponent implements Datapath, HealthReporter {
    private static final Logger LOG = Logger.getLogger(DatapathComponent.class.getName());
    private static final long LOAD_WAIT_SECONDS = 30;

    private final List<DatapathEventListener> listeners = new CopyOnWriteArrayList<>();
    private final ExecutorService executor;
    private final CompletableFuture<EbpfDatapath> ready = new CompletableFuture<>();
    private final Path pinDir;
    private final long startNanos = System.nanoTime();
    private volatile boolean deactivated;

    @Activate
    public DatapathComponent(BundleContext ctx) {
        pinDir = AgentDirs.bpfDir(ctx::getProperty);
        executor = Executors.newSingleThreadExecutor(DaemonThreads.named("septum-datapath-load"));
        executor.execute(this::load);
    }

    private void load() {
        try {
            EbpfDatapath dp = new EbpfDatapath(pinDir, EbpfDatapath.bundledObject(), this::dispatch);
            dp.open();
            if (deactivated) { // deactivated while loading: nobody will close it later
                dp.close();
                ready.cancel(false);
                return;
            }
            LOG.info(() -> "eBPF datapath ready in " + (System.nanoTime() - startNanos) / 1_000_000 + " ms");
            ready.complete(dp);
        } catch (Exception | LinkageError e) {
            LOG.log(Level.SEVERE, "the eBPF datapath could not be loaded: " + e.getMessage(), e);
            ready.completeExceptionally(e);
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addListener(DatapathEventListener l) {
        listeners.add(l);
    }

    void removeListener(DatapathEventListener l) {
        listeners.remove(l);
    }

    private void dispatch(DatapathEvent e) {
        for (DatapathEventListener l : List.copyOf(listeners)) {
            try {
                l.onEvent(e);
            } catch (RuntimeException ex) {
                LOG.log(Level.WARNING, "datapath event listener " + l + " failed", ex);
            }
        }
    }

    @Deactivate
    void deactivate() {
        deactivated = true;
        executor.shutdown();
        EbpfDatapath dp = ready.getNow(null);
        if (dp == null) ready.cancel(true);
        try {
            dp = ready.isDone() && !ready.isCompletedExceptionally() && !ready.isCancelled() ? ready.get() : null;
        } catch (Exception e) {
            dp = null;
        }
        if (dp != null) dp.close();
    }

    private EbpfDatapath datapath() throws DatapathException {
        try {
            return ready.get(LOAD_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new DatapathException("the eBPF datapath failed to load: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new DatapathException("the eBPF datapath is still loading after " + LOAD_WAIT_SECONDS + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DatapathException("interrupted while waiting for the eBPF datapath to load");
        } catch (java.util.concurrent.CancellationException e) {
            throw new DatapathException("the eBPF datapath component is stopping");
        }
    }

    /** The loaded datapath, or null while loading or after a failure: views must not block. */
    private EbpfDatapath loadedOrNull() {
        try {
            return ready.isDone() && !ready.isCompletedExceptionally() && !ready.isCancelled() ? ready.get() : null;
        } catch (Exception e) {
            return null;
        }
    }

    @Override
    public void upsertEndpoint(DatapathEndpoint endpoint, List<PolicyEntry> entries) throws DatapathException {
        datapath().upsertEndpoint(endpoint, entries);
    }

    @Override
    public void removeEndpoint(long endpointId) throws DatapathException {
        datapath().removeEndpoint(endpointId);
    }

    @Override
    public void syncIpcache(List<IpcacheEntry> entries) throws DatapathException {
        datapath().syncIpcache(entries);
    }

    @Override
    public void syncServices(List<io.septum.api.service.Service> services) throws DatapathException {
        datapath().syncServices(services);
    }

    @Override
    public List<io.septum.api.service.Service> services() {
        EbpfDatapath dp = loadedOrNull();
        return dp == null ? List.of() : dp.services();
    }

    @Override
    public void setProxyPort(int port) throws DatapathException {
        datapath().setProxyPort(port);
    }

    @Override
    public void setDnsProxyPort(int port) throws DatapathException {
        datapath().setDnsProxyPort(port);
    }

    @Override
    public void setFailsafePorts(List<io.septum.api.datapath.FailsafePort> ports) throws DatapathException {
        datapath().setFailsafePorts(ports);
    }

    @Override
    public List<BpfEndpoint> restored() {
        try {
            return datapath().restored();
        } catch (DatapathException e) {
            return List.of();
        }
    }

    @Override
    public List<BpfEndpoint> endpoints() {
        EbpfDatapath dp = loadedOrNull();
        return dp == null ? List.of() : dp.endpoints();
    }

    @Override
    public List<BpfPolicyEntry> policy(long endpointId) {
        EbpfDatapath dp = loadedOrNull();
        return dp == null ? List.of() : dp.policy(endpointId);
    }

    @Override
    public List<IpcacheEntry> ipcache() {
        EbpfDatapath dp = loadedOrNull();
        return dp == null ? List.of() : dp.ipcache();
    }

    @Override
    public List<io.septum.api.datapath.RuleHits> ruleHits() {
        EbpfDatapath dp = loadedOrNull();
        return dp == null ? List.of() : dp.ruleHits();
    }

    @Override
    public DatapathStats stats() {
        EbpfDatapath dp = loadedOrNull();
        if (dp != null) return dp.stats();
        return new DatapathStats(false, 0, 0, 0, pinDir.toString(), failure());
    }

    private String failure() {
        if (!ready.isDone()) return "loading";
        try {
            ready.get();
            return null;
        } catch (ExecutionException e) {
            return e.getCause().getMessage();
        } catch (Exception e) {
            return e.toString();
        }
    }

    @Override
    public ComponentStatus health() {
        EbpfDatapath dp = loadedOrNull();
        if (dp == null) {
            String f = failure();
            if ("loading".equals(f)) return new ComponentStatus("datapath", "degraded", "loading BPF programs");
            return ComponentStatus.failed("datapath", "not loaded: " + f);
        }
        DatapathStats s = dp.stats();
        String cg = dp.cgroupError() == null ? ", " + dp.attachedCgroups() + " cgroup(s)"
                : " (cgroup endpoints disabled: " + dp.cgroupError() + ")";
        return ComponentStatus.ok("datapath", "eBPF loaded, " + s.attachedInterfaces() + " interface(s)" + cg + " attached, maps pinned under "
                + s.pinPath() + ", events " + s.eventsReceived() + " received, " + s.eventsLost() + " lost");
    }
}
