package io.septum.endpoints.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.Endpoint;
import io.septum.api.EditableEndpointSource;
import io.septum.api.EndpointIndex;
import io.septum.api.EndpointListener;
import io.septum.api.EndpointManager;
import io.septum.api.EndpointSink;
import io.septum.api.EndpointSnapshot;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.EndpointState;
import io.septum.api.HealthReporter;
import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.IpcacheEntry;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.NamedPort;
import io.septum.api.RemoteEndpoint;
import io.septum.api.RemoteEndpoints;
import io.septum.api.ReservedIdentity;
import io.septum.api.SourceHealth;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathException;
import io.septum.api.policy.EndpointPolicy;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.PolicyListener;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The endpoint manager's logic, free of OSGi so that tests drive it directly; {@link EndpointManagerComponent} is
 * the DS face.
 *
 * <p>All state is guarded by {@link #lock}. Every change only marks what is affected and asks for a regeneration
 * pass; passes run one at a time on {@link #regen} and coalesce, so a burst of changes costs one pass. Datapath calls
 * happen outside the lock, on that single thread, so their order is the order of the passes.
 */
public class DefaultEndpointManager implements EndpointManager, EndpointIndex, PolicyListener, HealthReporter {
    private static final Logger LOG = Logger.getLogger(DefaultEndpointManager.class.getName());
    static final int MAX_ID = 65535;

    /** Tunables; in the agent they come from config pid {@code io.septum.endpoints}. */
    /**
     * @param clusterName        cluster mode's name, which every endpoint carries as a label; null when standalone
     * @param initialSyncTimeout cluster mode: how long after start the datapath is left as the previous agent left it
     *                           while the cluster's first listing of the other nodes' endpoints is pending
     */
    public record Settings(Path stateDir, Duration disconnectGrace, Duration retryDelay, String clusterName,
                           Duration initialSyncTimeout) {
        /** Cilium waits for its kvstore's first listing too; a few seconds cover a reachable etcd. */
        public static final Duration DEFAULT_INITIAL_SYNC_TIMEOUT = Duration.ofSeconds(5);

        public Settings {
            initialSyncTimeout = initialSyncTimeout == null ? DEFAULT_INITIAL_SYNC_TIMEOUT : initialSyncTimeout;
        }

        public Settings(Path stateDir, Duration disconnectGrace, Duration retryDelay, String clusterName) {
            this(stateDir, disconnectGrace, retryDelay, clusterName, null);
        }

        public Settings(Path stateDir, Duration disconnectGrace, Duration retryDelay) {
            this(stateDir, disconnectGrace, retryDelay, null, null);
        }
    }

    private record Key(String source, String sourceId) {
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
    private final IdentityAllocator identities;
    private final PolicyRepository policies;
    private final Datapath datapath;
    private final HostEnv host;
    private final EndpointStore store;
    private volatile Settings settings;
    private final LongConsumer onReady;

    private final Map<Key, ManagedEndpoint> endpoints = new HashMap<>();
    private final Map<Long, ManagedEndpoint> byId = new TreeMap<>();
    /** Ids of pinned endpoints that no persisted endpoint claims, to remove once the grace period is over. */
    private final Map<Long, Long> orphans = new HashMap<>();
    private final Set<Long> toRemove = new LinkedHashSet<>();
    private final Map<String, Map<String, String>> namespaceLabels = new TreeMap<>();
    private final Map<String, SourceConnection> sources = new LinkedHashMap<>();
    private final Map<String, Identity> cidrIdentities = new HashMap<>();
    /** Cluster mode: the other nodes' endpoints, merged into the ipcache and the identities policy resolves against. */
    private final RemoteEndpointView remote = new RemoteEndpointView(this::schedule);
    private List<IpcacheEntry> ipcache = List.of();
    private List<IpcacheEntry> pushedIpcache;
    private String ipcacheError;
    private long nextId = 1;
    private boolean dirtyStore;
    private boolean closed;
    private volatile long readySince;
    private String restoreError;
    /** What was wrong with endpoints.json at start; stays in the status (the next good save does not undo it). */
    private volatile String loadError;

    private final ScheduledExecutorService regen;
    private final ExecutorService sourceCalls;
    private final AtomicBoolean passPending = new AtomicBoolean();
    /** The remote endpoints' ipcache entries of the last pass (regeneration thread). */
    private final IpcacheBuilder.RemoteMemo remoteMemo = new IpcacheBuilder.RemoteMemo();
    /** The identities the last pass resolved selectors against; guarded by lock. */
    private List<Identity> lastUniverse = Arrays.stream(ReservedIdentity.values()).map(ReservedIdentity::identity).toList();
    /** The named ports by identity of the last pass, for the same programs; guarded by lock. */
    private Map<Long, List<NamedPort>> lastPeerPorts = Map.of();
    private final SnapshotPublisher publisher = new SnapshotPublisher();
    private final Realization realization = new Realization();
    private final java.util.concurrent.CountDownLatch restoreDone = new java.util.concurrent.CountDownLatch(1);
    /**
     * Endpoints the kernel still enforced for the previous agent (guarded by lock): while the start gate is closed
     * they keep that state. Every other endpoint is pushed at once, so that none runs without a program meanwhile.
     */
    private final Set<Long> enforcedAtStart = new HashSet<>();
    /** Cluster mode's start gate (Cilium's ListDone): until then, nothing computed without remote endpoints is pushed. */
    private final long startedAt = System.currentTimeMillis();
    /** Touched by the regeneration thread only (volatile for status): the gate is open, and how it opened. */
    private volatile boolean gateOpen;
    private volatile String gateTimedOut;
    /** Touched by the regeneration thread only. */
    private final Map<Long, Integer> removeAttempts = new HashMap<>();
    private static final int MAX_REMOVE_ATTEMPTS = 5;

    public DefaultEndpointManager(Settings settings, IdentityAllocator identities, PolicyRepository policies,
                                  Datapath datapath, HostEnv host, LongConsumer onReady) {
        this.settings = settings;
        this.identities = identities;
        this.policies = policies;
        this.datapath = datapath;
        this.host = host;
        this.onReady = onReady;
        this.store = new EndpointStore(settings.stateDir());
        this.regen = Executors.newSingleThreadScheduledExecutor(r -> thread(r, "septum-endpoints-regen"));
        this.sourceCalls = Executors.newSingleThreadExecutor(r -> thread(r, "septum-endpoints-sources"));
        // Restoring asks the datapath, which may still be loading: never on the activating thread. Sources are opened
        // only once it is done, so that a re-reported endpoint finds its old id.
        regen.execute(() -> {
            try {
                restore();
            } finally {
                restoreDone.countDown();
            }
            firstPass();
        });
        sourceCalls.execute(this::awaitRestore);
    }

    /** Holds back source calls until the previous agent's state is restored. */
    private void awaitRestore() {
        try {
            if (!restoreDone.await(2, TimeUnit.MINUTES)) LOG.severe("restore did not finish in 2 minutes; going on");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Thread thread(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    void updateSettings(Settings s) {
        this.settings = s;
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
            for (BpfEndpoint b : datapath.restored()) enforcing.put(b.endpointId(), b);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "the datapath cannot list what a previous agent left; nothing is restored", e);
        }
        long deadline = System.currentTimeMillis() + settings.disconnectGrace().toMillis();
        synchronized (lock) {
            nextId = Math.max(1, Math.min(state.nextId(), MAX_ID));
            state.namespaceLabels().forEach((ns, l) -> namespaceLabels.put(ns, Map.copyOf(l)));
            for (EndpointStore.Stored s : state.endpoints()) {
                if (s.id() < 1 || s.id() > MAX_ID || s.source() == null || s.sourceId() == null) continue;
                BpfEndpoint b = enforcing.remove(s.id());
                if (b != null) enforcedAtStart.add(s.id());
                // its identity as the kernel still knows it; the pass checks the allocator agrees
                ManagedEndpoint ep = ManagedEndpoint.restored(s, deadline, b,
                        b == null ? null : identities.get(b.identity()).orElse(null));
                endpoints.put(new Key(s.source(), s.sourceId()), ep);
                byId.put(ep.id, ep);
            }
            for (BpfEndpoint b : enforcing.values()) orphans.put(b.endpointId(), deadline);
        }
        if (!enforcing.isEmpty()) {
            LOG.warning(() -> "the datapath holds endpoints no persisted endpoint claims: " + enforcing.keySet()
                    + "; they are removed after the grace period");
        }
        if (!byId.isEmpty() || !orphans.isEmpty()) scheduleAt(deadline);
    }

    private void firstPass() {
        pass();
        // standalone: ready after the first pass, as before, even one that failed (it is retried); cluster mode: when
        // the gate opens (doPass)
        if (settings.clusterName() == null) signalReady();
    }

    /**
     * Whether a pass may push what it computed. Standalone always. In cluster mode, after a (re)start, only once the
     * cluster's first listing of the other nodes' endpoints is in, or {@code initialSyncTimeout} has passed: before
     * that a remote peer would be {@code world}, which a deny on its identity would miss, while the kernel still holds
     * what the previous agent computed with it (maps are pinned). Complete means listed, with every remote identity's
     * labels known. After the timeout the node goes on from local state.
     */
    private boolean gate(long now, boolean remoteComplete) {
        if (gateOpen) return true;
        Settings s = settings;
        if (s.clusterName() == null || remoteComplete) {
            gateOpen = true;
            return true;
        }
        long deadline = startedAt + s.initialSyncTimeout().toMillis();
        if (now < deadline) {
            scheduleAt(deadline);
            return false;
        }
        gateOpen = true;
        gateTimedOut = "the cluster's first listing of the other nodes' endpoints was not in after "
                + s.initialSyncTimeout().toSeconds() + " s (etcd unreachable?): regenerated from local state, remote peers"
                + " are world until it is";
        LOG.warning(gateTimedOut);
        return true;
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
        String name;
        try {
            name = source.name();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "an endpoint source failed to say its name; ignored", e);
            return;
        }
        String bad = LabelRules.checkSourceName(name);
        if (bad != null) {
            LOG.warning("endpoint source " + source.getClass().getName() + " refused: " + bad);
            return;
        }
        SourceConnection entry = new SourceConnection(name, source, reports);
        synchronized (lock) {
            if (closed) return;
            if (sources.containsKey(name)) {
                LOG.warning("a second endpoint source named " + name + " (" + source.getClass().getName()
                        + ") is ignored: source names must be unique");
                return;
            }
            sources.put(name, entry);
        }
        sourceCalls.execute(() -> {
            try {
                source.open(entry);
            } catch (RuntimeException e) {
                entry.health = new SourceHealth(name, false, 0, "open failed: " + e.getMessage());
                LOG.log(Level.WARNING, "endpoint source " + name + " failed to open", e);
            }
        });
    }

    /** A source service went away: its endpoints are disconnected and removed after the grace period. */
    public void removeSource(EndpointSource source) {
        SourceConnection entry;
        long deadline = System.currentTimeMillis() + settings.disconnectGrace().toMillis();
        synchronized (lock) {
            entry = sources.values().stream().filter(e -> e.source == source).findFirst().orElse(null);
            if (entry == null) return;
            sources.remove(entry.name);
            entry.closed = true;
            if (!closed) {
                for (ManagedEndpoint ep : endpoints.values()) {
                    if (!ep.source.equals(entry.name) || ep.state == EndpointState.DISCONNECTED) continue;
                    ep.state = EndpointState.DISCONNECTED;
                    ep.removeAt = deadline;
                    ep.error = "source " + entry.name + " went away; its datapath state is removed at "
                            + java.time.Instant.ofEpochMilli(deadline) + " unless it comes back";
                    ep.generation++;
                }
            }
        }
        sourceCalls.execute(() -> {
            try {
                entry.source.close();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "endpoint source " + entry.name + " failed to close", e);
            }
        });
        scheduleAt(deadline);
    }

    private void upsertFrom(SourceConnection src, EndpointSpec spec) {
        awaitRestore();
        synchronized (lock) {
            if (closed) return;
            Key key = new Key(src.name, spec.sourceId());
            ManagedEndpoint ep = endpoints.get(key);
            if (ep == null) {
                long id = allocateId();
                if (id < 0) {
                    LOG.severe("no endpoint id left for " + src.name + "/" + spec.sourceId());
                    return;
                }
                ep = new ManagedEndpoint(id, src.name, spec.sourceId());
                endpoints.put(key, ep);
                byId.put(id, ep);
            }
            apply(ep, spec);
            dirtyStore = true;
        }
        schedule();
    }

    /** Takes what the source says; the caller holds the lock. */
    private void apply(ManagedEndpoint ep, EndpointSpec spec) {
        String cluster = settings.clusterName();
        LabelRules.Result r = LabelRules.build(ep.source, spec, null, cluster);
        Map<String, String> nsLabels = r.refusal() == null ? namespaceLabels.get(r.namespace()) : null;
        if (nsLabels != null) r = LabelRules.build(ep.source, spec, nsLabels, cluster);
        for (String p : r.problems()) LOG.warning("endpoint " + ep.source + "/" + spec.sourceId() + ": " + p);
        if (r.refusal() != null) LOG.warning("endpoint " + ep.source + "/" + spec.sourceId() + " refused: " + r.refusal());
        List<String> addresses = new ArrayList<>();
        List<String> problems = new ArrayList<>(r.problems());
        for (String a : spec.addresses()) {
            String ip = IpAddresses.parse(a);
            if (ip == null) problems.add("address \"" + a + "\" is not an IP address; ignored");
            else if (!addresses.contains(ip)) addresses.add(ip);
        }
        boolean labelsChanged = !r.labels().equals(ep.labels) || ep.identity == null;
        ep.spec = spec;
        ep.name = spec.name();
        ep.namespace = r.namespace();
        ep.interfaceName = spec.interfaceName();
        ep.netns = spec.netns();
        // an interface wins: a source that reports both means its veth
        ep.cgroupPath = spec.interfaceName() == null ? spec.cgroupPath() : null;
        ep.externalIds = spec.externalIds();
        ep.addresses = List.copyOf(addresses);
        ep.labels = r.labels();
        ep.labelProblems = List.copyOf(problems);
        ep.refusal = r.refusal();
        ep.restoredPending = false;
        ep.removeAt = 0;
        ep.error = null;
        if (r.refusal() != null) {
            // Its previous datapath state, if any, is left as it was; it leaves the ipcache.
            releaseIdentity(ep);
            ep.needsIdentity = true;
            ep.state = EndpointState.WAITING_FOR_IDENTITY;
        } else if (labelsChanged) {
            ep.needsIdentity = true;
            ep.state = EndpointState.WAITING_FOR_IDENTITY;
        } else {
            ep.state = EndpointState.REGENERATING;
        }
        ep.generation++;
    }

    private void removeFrom(SourceConnection src, String sourceId) {
        awaitRestore();
        synchronized (lock) {
            ManagedEndpoint ep = endpoints.get(new Key(src.name, sourceId));
            if (ep == null || closed) return;
            drop(ep);
        }
        schedule();
    }

    private void resyncFrom(SourceConnection src, Set<String> live) {
        awaitRestore();
        boolean changed = false;
        synchronized (lock) {
            if (closed) return;
            for (ManagedEndpoint ep : List.copyOf(endpoints.values())) {
                if (ep.source.equals(src.name) && !live.contains(ep.sourceId)) {
                    drop(ep);
                    changed = true;
                }
            }
        }
        if (changed) schedule();
    }

    /** Forgets an endpoint now and removes its datapath state in the next pass; the caller holds the lock. */
    private void drop(ManagedEndpoint ep) {
        endpoints.remove(new Key(ep.source, ep.sourceId));
        byId.remove(ep.id);
        releaseIdentity(ep);
        // Only what this agent or a previous one pushed has datapath state to remove.
        if (ep.spec != null || ep.restoredPending) toRemove.add(ep.id);
        dirtyStore = true;
    }

    private void releaseIdentity(ManagedEndpoint ep) {
        if (ep.holdsRef && ep.identity != null) identities.release(ep.identity.id());
        ep.holdsRef = false;
        ep.identity = null;
    }

    /** The next free id in 1..65535, round robin so that a removed endpoint's id is not handed out at once. */
    private long allocateId() {
        for (int i = 0; i < MAX_ID; i++) {
            long id = nextId;
            nextId = nextId >= MAX_ID ? 1 : nextId + 1;
            if (!byId.containsKey(id) && !orphans.containsKey(id) && !toRemove.contains(id)) return id;
        }
        return -1;
    }

    // ---------------------------------------------------------------- operator requests

    @Override
    public void add(String source, EndpointSpec spec) {
        SourceConnection entry;
        synchronized (lock) {
            entry = sources.get(source);
        }
        if (entry == null) {
            throw new IllegalArgumentException("endpoint source \"" + source + "\" is not running (running: "
                    + String.join(", ", sourceNames()) + "); install or start its bundle first");
        }
        if (!(entry.source instanceof EditableEndpointSource editable)) {
            throw new IllegalArgumentException("endpoint source \"" + source + "\" does not take endpoints from the"
                    + " operator: it reports what its backend runs (sources that do: " + editableNames() + ")");
        }
        editable.add(spec);
    }

    @Override
    public void delete(String idOrName) {
        Endpoint ep = get(idOrName).orElseThrow(() -> new IllegalArgumentException(
                "no endpoint \"" + idOrName + "\" (use an id, namespace/name, or a unique name; see endpoint list)"));
        SourceConnection entry;
        synchronized (lock) {
            entry = sources.get(ep.source());
        }
        if (entry == null) {
            throw new IllegalStateException("endpoint " + ep.qualifiedName() + " belongs to source " + ep.source()
                    + ", which is not running; start its bundle to delete it");
        }
        ManagedEndpoint inner;
        synchronized (lock) {
            inner = byId.get(ep.id());
        }
        if (inner == null) throw new IllegalArgumentException("endpoint " + idOrName + " went away meanwhile");
        if (!(entry.source instanceof EditableEndpointSource editable)) {
            throw new IllegalArgumentException("endpoint " + ep.qualifiedName() + " belongs to source " + ep.source()
                    + ", which does not delete endpoints on request: remove the workload from " + ep.source()
                    + "'s backend and the source reports it gone");
        }
        editable.delete(inner.sourceId);
    }

    private List<String> sourceNames() {
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

    @Override
    public List<Endpoint> list() {
        synchronized (lock) {
            List<Endpoint> out = new ArrayList<>(byId.size());
            for (ManagedEndpoint ep : byId.values()) out.add(ep.view());
            return out;
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
        synchronized (lock) {
            views = new ArrayList<>(byId.size());
            for (ManagedEndpoint ep : byId.values()) views.add(ep.view());
            cache = ipcache;
        }
        publisher.offer(views, cache);
    }

    @Override
    public Optional<Endpoint> get(String idOrName) {
        if (idOrName == null || idOrName.isBlank()) return Optional.empty();
        String q = idOrName.trim();
        synchronized (lock) {
            if (q.chars().allMatch(Character::isDigit) && q.length() <= 6) {
                ManagedEndpoint ep = byId.get(Long.parseLong(q));
                if (ep != null) return Optional.of(ep.view());
            }
            int slash = q.indexOf('/');
            List<ManagedEndpoint> matches = new ArrayList<>();
            for (ManagedEndpoint ep : byId.values()) {
                if (slash >= 0) {
                    if (q.equals(ep.namespace + "/" + ep.name)) matches.add(ep);
                } else if (q.equals(ep.name)) {
                    matches.add(ep);
                }
            }
            return matches.size() == 1 ? Optional.of(matches.get(0).view()) : Optional.empty();
        }
    }

    @Override
    public Endpoint setAudit(String idOrName, boolean audit) {
        Endpoint e = get(idOrName).orElseThrow(() -> new java.util.NoSuchElementException("no endpoint \"" + idOrName
                + "\" (an id, namespace/name, or a name that is unique)"));
        synchronized (lock) {
            ManagedEndpoint ep = byId.get(e.id());
            if (ep == null) throw new java.util.NoSuchElementException("endpoint " + e.id() + " is gone");
            if (ep.audit != audit) {
                ep.audit = audit;
                ep.generation++;
                if (ep.state == EndpointState.READY) ep.state = EndpointState.REGENERATING;
                dirtyStore = true;
            }
            e = ep.view();
        }
        schedule();
        return e;
    }

    /** Adds a realization-latency listener (the metrics bundle). */
    public void addRealizationListener(io.septum.api.policy.PolicyRealizationListener l) {
        realization.addListener(l);
    }

    public void removeRealizationListener(io.septum.api.policy.PolicyRealizationListener l) {
        realization.removeListener(l);
    }

    @Override
    public List<SourceHealth> sources() {
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
            if (copy.isEmpty()) namespaceLabels.remove(namespace);
            else namespaceLabels.put(namespace, Map.copyOf(copy));
            for (ManagedEndpoint ep : byId.values()) {
                if (ep.spec != null && namespace.equals(ep.namespace)) apply(ep, ep.spec);
            }
            dirtyStore = true;
        }
        schedule();
    }

    @Override
    public Map<String, Map<String, String>> namespaceLabels() {
        synchronized (lock) {
            return Map.copyOf(namespaceLabels);
        }
    }

    @Override
    public List<IpcacheEntry> ipcache() {
        synchronized (lock) {
            return ipcache;
        }
    }

    @Override
    public void policyChanged(long revision, PolicySet current, EnforcementMode mode) {
        realization.announced(revision, System.nanoTime());
        synchronized (lock) {
            for (ManagedEndpoint ep : byId.values()) {
                if (ep.state == EndpointState.READY) ep.state = EndpointState.REGENERATING;
            }
        }
        schedule();
    }

    @Override
    public ComponentStatus health() {
        synchronized (lock) {
            long failing = byId.values().stream().filter(e -> e.error != null && e.state != EndpointState.DISCONNECTED).count();
            long ready = byId.values().stream().filter(e -> e.state == EndpointState.READY).count();
            String summary = byId.size() + " endpoints, " + ready + " ready";
            if (ipcacheError != null) return new ComponentStatus("endpoints", "degraded", ipcacheError);
            if (gateTimedOut != null && !remote.synced()) {
                return new ComponentStatus("endpoints", "degraded", summary + "; " + gateTimedOut);
            }
            if (!gateOpen && readySince == 0 && restoreDone.getCount() == 0 && settings.clusterName() != null) {
                return ComponentStatus.ok("endpoints", summary + ", waiting for the cluster's first listing (up to "
                        + settings.initialSyncTimeout().toSeconds() + " s)");
            }
            if (restoreError != null) return new ComponentStatus("endpoints", "degraded", restoreError);
            if (loadError != null) return new ComponentStatus("endpoints", "degraded", loadError);
            if (failing > 0) return new ComponentStatus("endpoints", "degraded", summary + ", " + failing + " failing");
            return ComponentStatus.ok("endpoints", summary + (readySince == 0 ? ", restoring" : ""));
        }
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
            } catch (java.util.concurrent.RejectedExecutionException e) {
                passPending.set(false);
            }
        }
    }

    private void scheduleAt(long epochMillis) {
        long delay = Math.max(0, epochMillis - System.currentTimeMillis()) + 50;
        try {
            regen.schedule(this::schedule, delay, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException ignored) {
            // shutting down
        }
    }

    /** What one pass pushes for one endpoint; {@code ports} are its named ports, which its ingress rules resolve. */
    private record Work(ManagedEndpoint ep, long generation, Labels labels, List<NamedPort> ports) {
        Work(ManagedEndpoint ep) {
            this(ep, ep.generation, ep.labels, ep.namedPorts());
        }

        /** The endpoint waits for its identity and gets the init identity's program meanwhile. */
        boolean init() {
            return labels.equals(INIT_LABELS);
        }
    }

    /**
     * An endpoint whose identity is not allocated yet (a new label set while etcd is slow or unreachable) is never
     * left without a program: as in Cilium, it carries the init identity, enforced in both directions, so only what
     * policies selecting {@code reserved:init} allow gets through; peers see its addresses as init too.
     */
    static final Labels INIT_LABELS = Labels.of(Label.reserved(ReservedIdentity.INIT.labelName()));

    private void pass() {
        passPending.set(false);
        try {
            doPass();
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "endpoint regeneration failed; retrying", e);
            scheduleAt(System.currentTimeMillis() + settings.retryDelay().toMillis());
        }
    }

    private void doPass() {
        boolean retry = false;
        long now = System.currentTimeMillis();
        // Read the revision before the set, so the revision recorded is never newer than what is realised.
        long revision = policies.revision();
        PolicySet policySet = policies.current();
        EnforcementMode mode = policies.mode();
        List<String> prefixes = policySet.cidrPrefixes();
        List<String> hostAddresses = host.hostAddresses();
        // Read before the list: a listing that completes in between is then taken whole by the next pass.
        boolean synced = remote.synced();
        List<RemoteEndpoint> remoteEndpoints = remote.list(identities);
        boolean push = gate(now, synced && !remote.labelsMissing());
        List<Long> removals = new ArrayList<>();
        List<Work> work = new ArrayList<>();
        List<IpcacheEntry> cache;
        List<Identity> universe;
        Map<Long, List<NamedPort>> peerPorts;
        EndpointStore.State toSave = null;
        List<Work> needIdentity = new ArrayList<>();
        List<Work> initWork = new ArrayList<>();
        Set<String> wantedCidrs = new HashSet<>();
        List<String> missingCidrs = new ArrayList<>();
        synchronized (lock) {
            if (closed) return;
            // 1. Expired disconnected endpoints and orphans go.
            for (ManagedEndpoint ep : List.copyOf(byId.values())) {
                if (ep.state == EndpointState.DISCONNECTED && ep.removeAt > 0 && ep.removeAt <= now) {
                    LOG.info("endpoint " + ep.id + " (" + ep.source + "/" + ep.sourceId + ") removed: its source did"
                            + " not report it within the grace period");
                    drop(ep);
                }
            }
            orphans.entrySet().removeIf(o -> {
                if (o.getValue() > now) return false;
                toRemove.add(o.getKey());
                return true;
            });
            removals.addAll(toRemove);
            // 2. What needs an identity; allocation happens outside the lock, as an allocator may be slow.
            for (ManagedEndpoint ep : byId.values()) {
                if (ep.refusal != null || (ep.spec == null && !ep.restoredPending)) continue;
                if (!ep.needsIdentity && ep.holdsRef) continue;
                needIdentity.add(new Work(ep));
                // never pushed and no identity yet: the init program goes in before the (maybe slow) allocation
                if (ep.identity == null && ep.pushedEndpoint == null && ep.spec != null) {
                    if (resolveIfindex(ep)) initWork.add(new Work(ep, ep.generation, INIT_LABELS, ep.namedPorts()));
                    else retry = true;
                }
            }
            for (String p : prefixes) wantedCidrs.add(IpAddresses.normalizePrefix(p));
            for (String p : wantedCidrs) if (!cidrIdentities.containsKey(p)) missingCidrs.add(p);
        }
        List<Identity> knownUniverse;
        Map<Long, List<NamedPort>> knownPorts;
        synchronized (lock) {
            knownUniverse = lastUniverse;
            knownPorts = lastPeerPorts;
        }
        for (Work w : initWork) retry |= regenerate(w, policySet, mode, revision, knownUniverse, knownPorts);
        Map<Work, Identity> allocated = new HashMap<>();
        Map<Work, String> allocationErrors = new HashMap<>();
        for (Work w : needIdentity) {
            try {
                allocated.put(w, identities.allocate(w.labels()));
            } catch (RuntimeException e) {
                allocationErrors.put(w, "cannot allocate an identity: " + e.getMessage());
                retry = true;
            }
        }
        Map<String, Identity> newCidrs = new HashMap<>();
        for (String p : missingCidrs) {
            try {
                newCidrs.put(p, identities.allocate(Labels.of(new Label(Label.CIDR, p, ""),
                        Label.reserved(ReservedIdentity.WORLD.labelName()))));
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "cannot allocate an identity for CIDR " + p, e);
                retry = true;
            }
        }
        synchronized (lock) {
            if (closed) {
                allocated.values().forEach(i -> identities.release(i.id()));
                newCidrs.values().forEach(i -> identities.release(i.id()));
                return;
            }
            allocationErrors.forEach((w, err) -> w.ep().error = err);
            for (var a : allocated.entrySet()) {
                ManagedEndpoint ep = a.getKey().ep();
                Identity fresh = a.getValue();
                if (ep.generation != a.getKey().generation() || byId.get(ep.id) != ep) {
                    // Changed meanwhile: the next pass allocates for what it is now.
                    identities.release(fresh.id());
                    retry = true;
                    continue;
                }
                Identity old = ep.identity;
                if (ep.holdsRef && old != null) identities.release(old.id());
                if (ep.restoredPending && old != null && old.id() != fresh.id()) {
                    LOG.warning("endpoint " + ep.id + ": the allocator gives identity " + fresh.id()
                            + " to labels the datapath knows as " + old.id() + "; using " + fresh.id());
                }
                ep.identity = fresh;
                ep.holdsRef = true;
                ep.needsIdentity = false;
                if (ep.state == EndpointState.WAITING_FOR_IDENTITY) ep.state = EndpointState.REGENERATING;
                dirtyStore = true;
            }
            // 3. CIDR identities for every prefix policies name.
            for (var e : newCidrs.entrySet()) {
                Identity had = cidrIdentities.putIfAbsent(e.getKey(), e.getValue());
                if (had != null) identities.release(e.getValue().id());
            }
            for (var it = cidrIdentities.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (!wantedCidrs.contains(e.getKey())) {
                    identities.release(e.getValue().id());
                    it.remove();
                }
            }
            // 4. The ipcache (IpcacheBuilder says the order), and the identities selectors resolve against.
            IpcacheBuilder entries = new IpcacheBuilder().cidrs(cidrIdentities).remote(remoteEndpoints, remoteMemo)
                    .host(hostAddresses);
            Map<Long, Identity> used = new TreeMap<>();
            for (RemoteEndpoint r : remoteEndpoints) {
                Identity i = remote.identity(r.identity());
                if (i != null) used.put(i.id(), i);
            }
            for (ReservedIdentity r : ReservedIdentity.values()) used.put(r.id(), r.identity());
            for (Identity i : cidrIdentities.values()) used.put(i.id(), i);
            for (ManagedEndpoint ep : byId.values()) {
                if (ep.refusal != null || (ep.spec == null && !ep.restoredPending)) continue;
                if (ep.identity == null) {
                    if (ep.spec != null) entries.endpoint(ep.id, ReservedIdentity.INIT.id(), ep.addresses);
                    continue;
                }
                used.put(ep.identity.id(), ep.identity);
                entries.endpoint(ep.id, ep.identity.id(), ep.addresses);
            }
            cache = entries.build();
            ipcache = cache;
            universe = List.copyOf(used.values());
            lastUniverse = universe;
            peerPorts = NamedPorts.byIdentity(byId.values(), remoteEndpoints);
            lastPeerPorts = peerPorts;
            // 5. What to push: every endpoint with an identity whose datapath state we own.
            for (ManagedEndpoint ep : byId.values()) {
                if (ep.restoredPending || ep.identity == null || ep.needsIdentity || ep.refusal != null) continue;
                if (ep.spec == null) continue;
                if (!resolveIfindex(ep)) {
                    retry = true;
                    continue;
                }
                work.add(new Work(ep));
            }
            if (dirtyStore) {
                toSave = storeState();
                dirtyStore = false;
            }
        }
        // Persist before the datapath learns of an id, so that a crash cannot leave an id no file explains.
        if (toSave != null) {
            try {
                store.save(toSave);
                synchronized (lock) {
                    restoreError = null;
                }
            } catch (IOException e) {
                synchronized (lock) {
                    dirtyStore = true;
                    restoreError = "cannot write " + store.file() + ": " + e.getMessage();
                }
                retry = true;
            }
        }
        boolean ipcacheOk = push;
        if (push && !cache.equals(pushedIpcache)) {
            try {
                datapath.syncIpcache(cache);
                pushedIpcache = cache;
                synchronized (lock) {
                    ipcacheError = null;
                }
            } catch (DatapathException | RuntimeException e) {
                ipcacheOk = false;
                retry = true;
                synchronized (lock) {
                    ipcacheError = "ipcache sync failed: " + e.getMessage();
                }
                LOG.log(Level.WARNING, "ipcache sync failed; endpoints keep their previous policy until it succeeds", e);
            }
        }
        List<Work> toPush = work;
        if (!push) {
            // the gate holds back what the kernel already enforces; an endpoint it does not is pushed now, computed
            // without remote endpoints (a remote peer is world: allow rules fail closed), never left without a program
            synchronized (lock) {
                toPush = work.stream().filter(w -> !enforcedAtStart.contains(w.ep().id)).toList();
            }
        }
        if (ipcacheOk || !push) {
            boolean failed = false;
            int pushed = 0;
            for (Work w : toPush) {
                int before = pushCount;
                boolean r = regenerate(w, policySet, mode, revision, universe, peerPorts);
                failed |= r;
                retry |= r;
                pushed += pushCount - before;
            }
            if (!failed && push) realization.realized(revision, pushed);
        }
        for (long id : removals) {
            try {
                datapath.removeEndpoint(id);
                synchronized (lock) {
                    toRemove.remove(id);
                }
                removeAttempts.remove(id);
            } catch (DatapathException | RuntimeException e) {
                int n = removeAttempts.merge(id, 1, Integer::sum);
                if (n >= MAX_REMOVE_ATTEMPTS) {
                    LOG.log(Level.SEVERE, "giving up removing endpoint " + id + " from the datapath after " + n
                            + " attempts; remove it by hand (bpf endpoint list)", e);
                    synchronized (lock) {
                        toRemove.remove(id);
                    }
                    removeAttempts.remove(id);
                } else {
                    LOG.log(Level.WARNING, "cannot remove endpoint " + id + " from the datapath; retrying", e);
                    retry = true;
                }
            }
        }
        publishSnapshot();
        if (push) signalReady();
        if (remote.labelsMissing()) retry = true;
        if (retry) scheduleAt(System.currentTimeMillis() + settings.retryDelay().toMillis());
    }

    /** Datapath writes made by this manager; touched by the regeneration thread only. */
    private int pushCount;

    /** Pushes one endpoint if its policy or attachment changed. Returns whether it must be retried. */
    /** Looks up the endpoint's interface index (0 for a cgroup endpoint); false, with the error noted, if it cannot. */
    private boolean resolveIfindex(ManagedEndpoint ep) {
        if (ep.interfaceName == null) {
            ep.ifindex = 0;
            return true;
        }
        try {
            ep.ifindex = host.ifindex(ep.interfaceName);
            return true;
        } catch (IOException e) {
            ep.error = e.getMessage();
            return false;
        }
    }

    private boolean regenerate(Work w, PolicySet policySet, EnforcementMode mode, long revision, List<Identity> universe,
                               Map<Long, List<NamedPort>> peerPorts) {
        ManagedEndpoint ep = w.ep();
        DatapathEndpoint dpe;
        EndpointPolicy policy;
        synchronized (lock) {
            if (ep.generation != w.generation() || !byId.containsKey(ep.id)) return false;
        }
        try {
            policy = policySet.resolve(w.labels(), w.ports(), universe, peerPorts, mode);
        } catch (RuntimeException e) {
            synchronized (lock) {
                ep.error = "cannot resolve policy: " + e.getMessage();
            }
            LOG.log(Level.WARNING, "cannot resolve the policy of endpoint " + ep.id, e);
            return true;
        }
        synchronized (lock) {
            // Changed while the policy was resolved: the pass that change asked for pushes the new state.
            if (ep.generation != w.generation() || (ep.identity == null) != w.init()) return false;
            dpe = w.init()
                    ? new DatapathEndpoint(ep.id, ReservedIdentity.INIT.id(), ep.interfaceName, ep.ifindex, ep.addresses,
                            true, true, ep.audit, ep.cgroupPath)
                    : new DatapathEndpoint(ep.id, ep.identity.id(), ep.interfaceName, ep.ifindex, ep.addresses,
                            policy.ingressEnforced(), policy.egressEnforced(), ep.audit, ep.cgroupPath);
        }
        boolean same = dpe.equals(ep.pushedEndpoint) && policy.entries().equals(ep.pushedEntries);
        if (!same) {
            try {
                datapath.upsertEndpoint(dpe, policy.entries());
                pushCount++;
            } catch (DatapathException | RuntimeException e) {
                synchronized (lock) {
                    // The datapath kept the last good state; so do we.
                    ep.error = "datapath refused the update (kept the previous state, retrying): " + e.getMessage();
                }
                LOG.log(Level.WARNING, "endpoint " + ep.id + ": datapath update failed", e);
                return true;
            }
        }
        synchronized (lock) {
            ep.pushedEndpoint = dpe;
            ep.pushedEntries = policy.entries();
            if (w.init()) return false; // still waiting for its identity
            if (ep.generation == w.generation() && ep.state != EndpointState.DISCONNECTED) {
                ep.state = EndpointState.READY;
                ep.error = null;
                ep.revision = revision;
            }
        }
        return false;
    }

    private EndpointStore.State storeState() {
        List<EndpointStore.Stored> out = new ArrayList<>();
        for (ManagedEndpoint ep : byId.values()) out.add(ep.stored());
        out.sort(Comparator.comparingLong(EndpointStore.Stored::id));
        return new EndpointStore.State(1, nextId, out, new TreeMap<>(namespaceLabels));
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
            closed = true;
            open = List.copyOf(sources.values());
            sources.clear();
        }
        for (SourceConnection e : open) {
            e.closed = true;
            try {
                e.source.close();
            } catch (RuntimeException ex) {
                LOG.log(Level.WARNING, "endpoint source " + e.name + " failed to close", ex);
            }
        }
        setRemoteEndpoints(null);
        regen.shutdownNow();
        sourceCalls.shutdownNow();
        publisher.close();
        try {
            regen.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
