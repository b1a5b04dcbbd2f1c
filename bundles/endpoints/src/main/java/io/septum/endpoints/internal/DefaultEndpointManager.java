package io.septum.endpoints.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.EditableEndpointSource;
import io.septum.api.Endpoint;
import io.septum.api.EndpointIndex;
import io.septum.api.EndpointListener;
import io.septum.api.EndpointManager;
import io.septum.api.EndpointSnapshot;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.EndpointState;
import io.septum.api.HealthReporter;
import io.septum.api.IdentityAllocator;
import io.septum.api.IpcacheEntry;
import io.septum.api.NamedPort;
import io.septum.api.RemoteEndpoints;
import io.septum.api.SourceHealth;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.Datapath;
import io.septum.api.fqdn.FqdnCache;
import io.septum.api.fqdn.FqdnEntry;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyListener;
import io.septum.api.policy.PolicyRealizationListener;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import io.septum.support.thread.DaemonThreads;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The endpoint manager's logic, free of OSGi so that tests drive it directly; {@link EndpointManagerComponent} is
 * the DS face. It wires the parts and answers the API: the {@link EndpointTable}, the {@link SourceRegistry}, the
 * {@link Reconciler} with its {@link IdentityAssigner}, {@link RemoteIpcache}, {@link StartGate} and
 * {@link DatapathWriter}, and the {@link SnapshotPublisher}.
 *
 * <p>All endpoint state is guarded by {@link #lock}, which every part shares. Every change only marks what is
 * affected and asks for a regeneration pass; passes run one at a time on {@link #regen} and coalesce, so a burst of
 * changes costs one pass. Threads: API callers (DS, shell, REST) and the sources' own threads take the lock;
 * {@code septum-endpoints-regen} runs the restore and every pass, and alone touches the datapath, the remote view's
 * labels, the remote ipcache and the start gate; {@code septum-endpoints-sources} opens and closes sources and holds
 * back their reports until the restore is done; {@code septum-endpoints-notify} tells the snapshot listeners.
 */
public class DefaultEndpointManager implements EndpointManager, EndpointIndex, PolicyListener, HealthReporter {
    private static final Logger LOG = Logger.getLogger(DefaultEndpointManager.class.getName());

    /**
     * Tunables; in the agent they come from config pid {@code io.septum.endpoints}.
     *
     * @param clusterName        cluster mode's name, which every endpoint carries as a label; null when standalone
     * @param initialSyncTimeout cluster mode: how long after start the datapath is left as the previous agent left it
     *                           while the cluster's first listing of the other nodes' endpoints is pending
     */
    public record Settings(Path stateDir, Duration disconnectGrace, Duration retryDelay, String clusterName,
                           Duration initialSyncTimeout, HostFirewall.Settings hostFirewall) {
        /** Cilium waits for its kvstore's first listing too; a few seconds cover a reachable etcd. */
        public static final Duration DEFAULT_INITIAL_SYNC_TIMEOUT = Duration.ofSeconds(5);

        public Settings {
            initialSyncTimeout = initialSyncTimeout == null ? DEFAULT_INITIAL_SYNC_TIMEOUT : initialSyncTimeout;
            hostFirewall = hostFirewall == null ? HostFirewall.Settings.OFF : hostFirewall;
        }

        public Settings(Path stateDir, Duration disconnectGrace, Duration retryDelay, String clusterName,
                        Duration initialSyncTimeout) {
            this(stateDir, disconnectGrace, retryDelay, clusterName, initialSyncTimeout, null);
        }

        public Settings(Path stateDir, Duration disconnectGrace, Duration retryDelay, String clusterName) {
            this(stateDir, disconnectGrace, retryDelay, clusterName, null);
        }

        public Settings(Path stateDir, Duration disconnectGrace, Duration retryDelay) {
            this(stateDir, disconnectGrace, retryDelay, null, null);
        }
    }

    private final Object lock = new Object();
    /** Where the bound sources' reports go (the manager's own methods, off the source's thread). */
    private final SourceConnection.Reports reports = new SourceConnection.Reports() {
        @Override
        public void upsert(SourceConnection from, EndpointSpec spec) {
            upsertFrom(from, spec);
        }

        @Override
        public void remove(SourceConnection from, String sourceId) {
            removeFrom(from, sourceId);
        }

        @Override
        public void resync(SourceConnection from, Set<String> liveSourceIds) {
            resyncFrom(from, liveSourceIds);
        }

        @Override
        public void namespaceLabels(SourceConnection from, String namespace, Map<String, String> labels) {
            // A source's namespaces are the operator's namespaces: one setting, whoever sets it last.
            setNamespaceLabels(namespace, labels);
        }
    };
    private final Datapath datapath;
    private final EndpointStore store;
    private volatile Settings settings;
    private final LongConsumer onReady;
    private final EndpointTable table;
    private final SourceRegistry sources = new SourceRegistry(lock, this::awaitRestore, SourceRegistry.STUCK_AFTER);
    /** Cluster mode: the other nodes' endpoints, merged into the ipcache and the identities policy resolves against. */
    private final RemoteEndpointView remote = new RemoteEndpointView(this::schedule);
    private final StartGate gate = new StartGate(System.currentTimeMillis(), this::scheduleAt);
    private final DatapathWriter writer;
    private final Reconciler reconciler;
    private volatile long readySince;
    /** What was wrong with endpoints.json at start; stays in the status (the next good save does not undo it). */
    private volatile String loadError;

    private final ScheduledExecutorService regen =
            Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("septum-endpoints-regen"));
    private final AtomicBoolean passPending = new AtomicBoolean();
    private final SnapshotPublisher publisher = new SnapshotPublisher();
    private final Realization realization = new Realization();
    private final CountDownLatch restoreDone = new CountDownLatch(1);
    private final java.util.concurrent.atomic.AtomicReference<FqdnCache> fqdnCache =
            new java.util.concurrent.atomic.AtomicReference<>();
    private final Runnable fqdnChanged = this::schedule;

    public DefaultEndpointManager(Settings settings, IdentityAllocator identities, PolicyRepository policies,
                                  Datapath datapath, HostEnv host, LongConsumer onReady) {
        this.settings = settings;
        this.datapath = datapath;
        this.onReady = onReady;
        this.store = new EndpointStore(settings.stateDir());
        this.table = new EndpointTable(identities);
        this.writer = new DatapathWriter(lock, table, datapath, host);
        this.reconciler = new Reconciler(lock, table, identities, remote, gate, writer, new HostFirewall(datapath, host),
                policies, host, store, realization, () -> this.settings, this::fqdnNames, publisher::offerPorts);
        // Restoring asks the datapath, which may still be loading: never on the activating thread. Sources are opened
        // only once it is done, so that a re-reported endpoint finds its old id.
        regen.execute(() -> {
            try {
                try {
                    restore();
                } finally {
                    restoreDone.countDown();
                }
                firstPass();
            } catch (RuntimeException | Error e) {
                // a scheduled executor keeps what a task threw in a future nobody reads: the agent would never be
                // ready and never say why
                LOG.log(Level.SEVERE, "the endpoint manager could not start: " + e, e);
                throw e;
            }
        });
    }

    /** Holds back source calls until the previous agent's state is restored. */
    private void awaitRestore() {
        try {
            if (!restoreDone.await(2, TimeUnit.MINUTES)) LOG.severe("restore did not finish in 2 minutes; going on");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** New settings take effect at once: a pass runs (the host firewall's interfaces and ports come from them). */
    void updateSettings(Settings s) {
        this.settings = s;
        schedule();
    }

    // ---------------------------------------------------------------- restore

    private void restore() {
        EndpointStore.State state;
        try {
            state = store.load();
        } catch (IOException | RuntimeException e) {
            String aside = store.setAside();
            loadError = "cannot read " + store.file() + ": " + e.getMessage()
                    + (aside == null ? "" : "; kept as " + aside) + "; endpoints get new ids when their sources report them";
            LOG.log(Level.SEVERE, loadError, e);
            state = new EndpointStore.State(1, 1, List.of(), Map.of());
        }
        Map<Long, BpfEndpoint> enforcing = new HashMap<>();
        try {
            List<BpfEndpoint> restored = datapath.restored();
            reconciler.hostFirewall().restored(restored);
            for (BpfEndpoint b : restored) {
                if (!HostFirewall.isHost(b)) enforcing.put(b.endpointId(), b);
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "the datapath cannot list what a previous agent left; nothing is restored", e);
        }
        long deadline = System.currentTimeMillis() + settings.disconnectGrace().toMillis();
        boolean waiting;
        synchronized (lock) {
            waiting = table.restore(state, enforcing, deadline);
        }
        if (!enforcing.isEmpty()) {
            LOG.warning(() -> "the datapath holds endpoints no persisted endpoint claims: " + enforcing.keySet()
                    + "; they are removed after the grace period");
        }
        if (waiting) scheduleAt(deadline);
    }

    private void firstPass() {
        pass();
        // standalone: ready after the first pass, as before, even one that failed (it is retried); cluster mode: when
        // the gate opens (pass)
        if (settings.clusterName() == null) signalReady();
    }

    /** Readiness: restore is done and the first pass could push (standalone: the first pass). */
    private void signalReady() {
        if (readySince != 0) return;
        long now = System.currentTimeMillis();
        readySince = now;
        onReady.accept(now);
    }

    // ---------------------------------------------------------------- sources

    /** A source service appeared. Opening it happens on another thread, never inside the caller's lock. */
    public void addSource(EndpointSource source) {
        SourceConnection entry = SourceRegistry.connection(source, reports);
        if (entry == null) return;
        synchronized (lock) {
            if (table.closed() || !sources.add(entry)) return;
        }
        sources.open(entry);
    }

    /** A source service went away: its endpoints are disconnected and removed after the grace period. */
    public void removeSource(EndpointSource source) {
        SourceConnection entry;
        long deadline = System.currentTimeMillis() + settings.disconnectGrace().toMillis();
        synchronized (lock) {
            entry = sources.remove(source);
            if (entry == null) return;
            if (!table.closed()) table.disconnect(entry.name, deadline);
        }
        sources.close(entry);
        scheduleAt(deadline);
    }

    private void upsertFrom(SourceConnection src, EndpointSpec spec) {
        awaitRestore();
        synchronized (lock) {
            if (table.closed()) return;
            ManagedEndpoint ep = table.getOrCreate(src.name, spec.sourceId());
            if (ep == null) {
                LOG.severe("no endpoint id left for " + src.name + "/" + spec.sourceId());
                return;
            }
            table.apply(ep, spec, settings.clusterName());
            table.markDirty();
        }
        schedule();
    }

    private void removeFrom(SourceConnection src, String sourceId) {
        awaitRestore();
        synchronized (lock) {
            ManagedEndpoint ep = table.get(src.name, sourceId);
            if (ep == null || table.closed()) return;
            table.drop(ep);
        }
        schedule();
    }

    private void resyncFrom(SourceConnection src, Set<String> live) {
        awaitRestore();
        boolean changed;
        synchronized (lock) {
            if (table.closed()) return;
            changed = table.dropAllBut(src.name, live);
        }
        if (changed) schedule();
    }

    // ---------------------------------------------------------------- operator requests

    @Override
    public void add(String source, EndpointSpec spec) {
        sources.addFromOperator(source, spec);
    }

    @Override
    public void delete(String idOrName) {
        Endpoint ep = get(idOrName).orElseThrow(() -> new IllegalArgumentException(
                "no endpoint \"" + idOrName + "\" (use an id, namespace/name, or a unique name; see endpoint list)"));
        SourceConnection entry = sources.get(ep.source());
        if (entry == null) {
            throw new IllegalStateException("endpoint " + ep.qualifiedName() + " belongs to source " + ep.source()
                    + ", which is not running; start its bundle to delete it");
        }
        ManagedEndpoint inner;
        synchronized (lock) {
            inner = table.byId(ep.id());
        }
        if (inner == null) throw new IllegalArgumentException("endpoint " + idOrName + " went away meanwhile");
        if (!(entry.source instanceof EditableEndpointSource editable)) {
            throw new IllegalArgumentException("endpoint " + ep.qualifiedName() + " belongs to source " + ep.source()
                    + ", which does not delete endpoints on request: remove the workload from " + ep.source()
                    + "'s backend and the source reports it gone");
        }
        editable.delete(inner.sourceId);
    }

    @Override
    public List<Endpoint> list() {
        synchronized (lock) {
            return table.views();
        }
    }

    @Override
    public EndpointSnapshot snapshot() {
        return publisher.current();
    }

    @Override
    public void addListener(EndpointListener listener) {
        publisher.add(listener);
    }

    @Override
    public void removeListener(EndpointListener listener) {
        publisher.remove(listener);
    }

    /** The DNS proxy's cache (null: none). Its changes schedule a pass: toFQDNs allows follow the names. */
    public synchronized void setFqdnCache(FqdnCache c) {
        FqdnCache old = fqdnCache.getAndSet(c);
        if (old != null) old.removeListener(fqdnChanged);
        c.addListener(fqdnChanged);
        schedule();
    }

    /** Drops {@code c} if it is the one in use. */
    public synchronized void unsetFqdnCache(FqdnCache c) {
        if (fqdnCache.compareAndSet(c, null)) {
            c.removeListener(fqdnChanged);
            schedule();
        }
    }

    /** Address to the names the FQDN cache holds for it. */
    private Map<String, Set<String>> fqdnNames() {
        FqdnCache c = fqdnCache.get();
        if (c == null) return Map.of();
        Map<String, Set<String>> out = new HashMap<>();
        for (FqdnEntry e : c.entries()) out.computeIfAbsent(e.ip(), k -> new java.util.TreeSet<>()).add(e.name());
        return out;
    }

    /** Cluster mode's remote endpoints (null: standalone). Their changes schedule a pass. */
    public void setRemoteEndpoints(RemoteEndpoints r) {
        if (remote.set(r)) schedule();
    }

    /** Drops {@code r} if it is the one in use (a greedy rebind may have replaced it already). */
    public void unsetRemoteEndpoints(RemoteEndpoints r) {
        if (remote.unset(r)) schedule();
    }

    /** Publishes what the pass left (views and ipcache, taken together) when it differs from the last snapshot. */
    private void publishSnapshot() {
        List<Endpoint> views;
        List<IpcacheEntry> cache;
        Map<Long, List<NamedPort>> ports;
        synchronized (lock) {
            views = table.views();
            cache = reconciler.ipcache();
            ports = reconciler.peerPorts();
        }
        publisher.offer(views, cache, ports);
    }

    @Override
    public Optional<Endpoint> get(String idOrName) {
        if (idOrName == null || idOrName.isBlank()) return Optional.empty();
        synchronized (lock) {
            return table.find(idOrName.trim()).map(ManagedEndpoint::view);
        }
    }

    @Override
    public Endpoint setAudit(String idOrName, boolean audit) {
        Endpoint e = get(idOrName).orElseThrow(() -> new NoSuchElementException("no endpoint \"" + idOrName
                + "\" (an id, namespace/name, or a name that is unique)"));
        synchronized (lock) {
            ManagedEndpoint ep = table.byId(e.id());
            if (ep == null) throw new NoSuchElementException("endpoint " + e.id() + " is gone");
            if (ep.audit != audit) {
                ep.audit = audit;
                ep.generation++;
                if (ep.state == EndpointState.READY) ep.state = EndpointState.REGENERATING;
                table.markDirty();
            }
            e = ep.view();
        }
        schedule();
        return e;
    }

    /** Adds a realization-latency listener (the metrics bundle). */
    public void addRealizationListener(PolicyRealizationListener l) {
        realization.addListener(l);
    }

    public void removeRealizationListener(PolicyRealizationListener l) {
        realization.removeListener(l);
    }

    @Override
    public List<SourceHealth> sources() {
        return sources.health();
    }

    @Override
    public void setNamespaceLabels(String namespace, Map<String, String> labels) {
        String bad = LabelRules.checkNamespace(namespace);
        if (bad != null) throw new IllegalArgumentException(bad);
        Map<String, String> copy = new TreeMap<>();
        if (labels != null) {
            for (Map.Entry<String, String> e : labels.entrySet()) {
                String err = LabelRules.checkLabel(e.getKey(), e.getValue() == null ? "" : e.getValue());
                if (err != null) throw new IllegalArgumentException("namespace " + namespace + ": " + err);
                copy.put(e.getKey(), e.getValue() == null ? "" : e.getValue());
            }
        }
        synchronized (lock) {
            table.setNamespaceLabels(namespace, copy, settings.clusterName());
        }
        schedule();
    }

    @Override
    public Map<String, Map<String, String>> namespaceLabels() {
        synchronized (lock) {
            return table.namespaceLabels();
        }
    }

    @Override
    public List<IpcacheEntry> ipcache() {
        synchronized (lock) {
            return reconciler.ipcache();
        }
    }

    @Override
    public void policyChanged(long revision, PolicySet current, EnforcementMode mode) {
        realization.announced(revision, System.nanoTime());
        synchronized (lock) {
            for (ManagedEndpoint ep : table.all()) {
                if (ep.state == EndpointState.READY) ep.state = EndpointState.REGENERATING;
            }
        }
        schedule();
    }

    @Override
    public ComponentStatus health() {
        synchronized (lock) {
            var all = table.all();
            List<ManagedEndpoint> failing = all.stream()
                    .filter(e -> e.error != null && e.state != EndpointState.DISCONNECTED)
                    .sorted(Comparator.comparingLong(e -> e.id)).toList();
            long ready = all.stream().filter(e -> e.state == EndpointState.READY).count();
            String host = reconciler.hostFirewall().summary();
            String summary = all.size() + " endpoints, " + ready + " ready" + (host == null ? "" : ", " + host);
            String hostError = reconciler.hostFirewall().error();
            if (hostError != null) return new ComponentStatus("endpoints", "degraded", summary + "; " + hostError);
            String ipcacheError = writer.ipcacheError();
            if (ipcacheError != null) return new ComponentStatus("endpoints", "degraded", ipcacheError);
            if (gate.timedOut() != null && !remote.synced()) {
                return new ComponentStatus("endpoints", "degraded", summary + "; " + gate.timedOut());
            }
            if (!gate.isOpen() && readySince == 0 && restoreDone.getCount() == 0 && settings.clusterName() != null) {
                return ComponentStatus.ok("endpoints", summary + ", waiting for the cluster's first listing (up to "
                        + settings.initialSyncTimeout().toSeconds() + " s)");
            }
            String saveError = reconciler.saveError();
            if (saveError != null) return new ComponentStatus("endpoints", "degraded", saveError);
            if (loadError != null) return new ComponentStatus("endpoints", "degraded", loadError);
            if (!failing.isEmpty()) return new ComponentStatus("endpoints", "degraded", summary + ", " + failing(failing));
            return ComponentStatus.ok("endpoints", summary + (readySince == 0 ? ", restoring" : ""));
        }
    }

    /**
     * {@code N failing}, then the first one's error (lowest id), so that status names what refused it (a full map,
     * a missing interface) without {@code endpoint get}.
     */
    private static String failing(List<ManagedEndpoint> failing) {
        ManagedEndpoint first = failing.get(0);
        return failing.size() + " failing; endpoint " + first.id + (first.name == null ? "" : " (" + first.name + ")")
                + ": " + first.error
                + (failing.size() > 1 ? "; and " + (failing.size() - 1) + " more (septum endpoint list)" : "");
    }

    /** Epoch millis of readiness, 0 before. */
    public long readySince() {
        return readySince;
    }

    // ---------------------------------------------------------------- regeneration

    /** Asks for a pass; a pass already queued covers this request too. */
    void schedule() {
        if (passPending.compareAndSet(false, true)) {
            try {
                regen.execute(this::pass);
            } catch (RejectedExecutionException e) {
                passPending.set(false);
            }
        }
    }

    private void scheduleAt(long epochMillis) {
        long delay = Math.max(0, epochMillis - System.currentTimeMillis()) + 50;
        try {
            regen.schedule(this::schedule, delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException ignored) {
            // shutting down
        }
    }

    private void pass() {
        passPending.set(false);
        try {
            Reconciler.Result r = reconciler.pass(System.currentTimeMillis());
            if (r == null) return;
            publishSnapshot();
            if (r.pushed()) signalReady();
            if (r.retry()) scheduleAt(System.currentTimeMillis() + settings.retryDelay().toMillis());
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "endpoint regeneration failed; retrying", e);
            scheduleAt(System.currentTimeMillis() + settings.retryDelay().toMillis());
        }
    }

    /** Waits for queued work, for tests. */
    void awaitIdle(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            var f = regen.submit(() -> null);
            try {
                f.get(Math.max(1, (end - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                return;
            }
            if (!passPending.get()) return;
        }
    }

    /** Stops without touching the datapath: a stopping agent must leave enforcement in place. */
    public void close() {
        List<SourceConnection> open;
        synchronized (lock) {
            table.close();
            open = sources.removeAll();
        }
        for (SourceConnection e : open) SourceRegistry.closeNow(e);
        setRemoteEndpoints(null);
        regen.shutdownNow();
        sources.shutdown();
        publisher.close();
        try {
            regen.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
