package io.septum.identity.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.api.ClusterIdentities;
import io.septum.api.ComponentStatus;
import io.septum.api.HealthReporter;
import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.ReservedIdentity;
import io.septum.support.config.AgentDirs;
import io.septum.support.io.AtomicFiles;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Allocates identities from a table persisted in {@code ${septum.state.dir}/identities.json}.
 *
 * <p>Numbers are never reused while the table holds them: a label set that goes away and comes back gets its old
 * number, so the datapath's policy entries written with that number by a previous agent stay right after a restart.
 * Reference counts live in memory only; after a restart the endpoint manager allocates again for every endpoint.
 *
 * <p>In cluster mode ({@value #CLUSTER_PID} names etcd endpoints) endpoint label sets get their numbers from
 * {@link ClusterIdentities}, the cluster's store, and this table keeps what it answers: the numbers persist here,
 * so a restart with the store down keeps them. Until the store's bundle is bound, a new endpoint label set waits
 * (the endpoint manager shows waiting-for-identity and retries) instead of getting a node-local number that
 * another node may give to other labels. Reserved and {@code cidr:} label sets stay node-local.
 */
@Component(service = {IdentityAllocator.class, HealthReporter.class}, configurationPid = LocalIdentityAllocator.CLUSTER_PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public final class LocalIdentityAllocator implements IdentityAllocator, HealthReporter {
    static final String FILE = "identities.json";
    /** Cluster mode's configuration, shared with the kvstore bundle: non-empty {@code etcdEndpoints} turns it on. */
    static final String CLUSTER_PID = "io.septum.cluster";
    private static final Logger LOG = Logger.getLogger(LocalIdentityAllocator.class.getName());

    private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final Path file;
    /** Canonical label string to identity, for every persisted identity (referenced or not). */
    private final Map<String, Identity> byLabels = new HashMap<>();
    private final TreeMap<Long, Identity> byId = new TreeMap<>();
    private final Map<Long, Integer> refs = new HashMap<>();
    private long nextCluster = ReservedIdentity.FIRST_ALLOCATED;
    private long nextLocal = ReservedIdentity.FIRST_LOCAL;
    private String lastError;
    /** What was wrong with the table at start; stays in the status (a later good write does not undo it). */
    private String loadError;
    private final boolean clusterMode;

    private volatile ClusterIdentities cluster;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindCluster")
    void bindCluster(ClusterIdentities c) {
        setCluster(c);
    }

    void unbindCluster(ClusterIdentities c) {
        if (cluster == c) cluster = null;
    }

    @Activate
    public LocalIdentityAllocator(BundleContext ctx, Map<String, Object> clusterConfig) {
        this(AgentDirs.stateDir(ctx::getProperty), clusterConfigured(clusterConfig));
    }

    /** For tests and offline tools: a standalone table in {@code stateDir}. */
    public LocalIdentityAllocator(Path stateDir) {
        this(stateDir, false);
    }

    /** A table in {@code stateDir}; in cluster mode endpoint label sets are numbered by {@link #setCluster}'s store. */
    public LocalIdentityAllocator(Path stateDir, boolean clusterMode) {
        this.file = stateDir.resolve(FILE);
        this.clusterMode = clusterMode;
        load();
    }

    static boolean clusterConfigured(Map<String, Object> config) {
        Object endpoints = config == null ? null : config.get("etcdEndpoints");
        return endpoints != null && !endpoints.toString().isBlank();
    }

    /** The cluster's store (the DS reference does the same); null unbinds it. */
    public void setCluster(ClusterIdentities cluster) {
        this.cluster = cluster;
        if (cluster != null && clusterMode) rereference(cluster);
    }

    /**
     * A store bound again (its bundle restarted, revoking its lease and with it this node's references) gets this
     * node's references back, so that GC does not free numbers still in use; off the binding thread.
     */
    private void rereference(ClusterIdentities c) {
        List<Map.Entry<Identity, Integer>> held = new ArrayList<>();
        synchronized (this) {
            for (Map.Entry<Long, Integer> e : refs.entrySet()) {
                Identity i = byId.get(e.getKey());
                if (i != null && e.getKey() < ReservedIdentity.FIRST_LOCAL) held.add(Map.entry(i, e.getValue()));
            }
        }
        if (held.isEmpty()) return;
        Thread t = new Thread(() -> {
            for (Map.Entry<Identity, Integer> e : held) {
                for (int n = 0; n < e.getValue(); n++) {
                    try {
                        long again = c.allocate(Labels.parse(e.getKey().labels(), Label.ANY));
                        if (again != e.getKey().id()) {
                            LOG.warning("the cluster store now numbers " + e.getKey().labels() + " " + again + ", not "
                                    + e.getKey().id() + "; endpoints take it on their next regeneration");
                        }
                    } catch (RuntimeException ex) {
                        LOG.log(Level.WARNING, "cannot re-reference identity " + e.getKey().id() + " in the cluster store", ex);
                    }
                }
            }
        }, "septum-identity-rereference");
        t.setDaemon(true);
        t.start();
    }

    private void load() {
        if (!Files.exists(file)) return;
        try {
            JsonNode root = json.readTree(file.toFile());
            // an empty file (a write cut short before durable writes, or a disk that lost it) is damage, not "no
            // identities": reading it as empty would renumber every endpoint without a word
            if (root == null || !root.isObject()) throw new IOException("empty or not a JSON object");
            for (JsonNode n : root.path("identities")) {
                long id = n.path("id").asLong(-1);
                List<String> labels = new ArrayList<>();
                for (JsonNode l : n.path("labels")) labels.add(l.asText());
                if (id <= 0) throw new IOException("entry without a positive id: " + n);
                Labels set = Labels.parse(labels, Label.ANY);
                Identity identity = new Identity(id, set.asStrings(), false);
                byLabels.put(set.toString(), identity);
                byId.put(id, identity);
                if (id >= ReservedIdentity.FIRST_LOCAL) nextLocal = Math.max(nextLocal, id + 1);
                else nextCluster = Math.max(nextCluster, id + 1);
            }
            // Keep the high-water marks even if entries were pruned by hand: never hand out a number twice.
            nextCluster = Math.max(nextCluster, root.path("nextCluster").asLong(nextCluster));
            nextLocal = Math.max(nextLocal, root.path("nextLocal").asLong(nextLocal));
            LOG.info(() -> "loaded " + byId.size() + " identities from " + file);
        } catch (IOException | RuntimeException e) {
            // Refusing to start would take enforcement down; starting empty would renumber live endpoints. Keep the
            // bad file aside for the operator and start empty, loudly.
            loadError = "cannot read " + file + ": " + e.getMessage() + "; it was moved aside to " + FILE
                    + ".corrupt and identities are renumbered";
            LOG.log(Level.SEVERE, loadError, e);
            byLabels.clear();
            byId.clear();
            try {
                Files.move(file, file.resolveSibling(FILE + ".corrupt"), StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException moveFailed) {
                LOG.log(Level.SEVERE, "cannot move " + file + " aside", moveFailed);
            }
        }
    }

    private void persist() {
        ObjectNode root = json.createObjectNode();
        root.put("version", 1);
        root.put("nextCluster", nextCluster);
        root.put("nextLocal", nextLocal);
        ArrayNode list = root.putArray("identities");
        for (Identity i : byId.values()) {
            ObjectNode n = list.addObject();
            n.put("id", i.id());
            ArrayNode labels = n.putArray("labels");
            i.labels().forEach(labels::add);
        }
        try {
            Files.createDirectories(file.getParent());
            // fsynced: a number handed out must still be this label set's after a power loss
            AtomicFiles.write(file, json.writeValueAsBytes(root), AtomicFiles.OWNER_ONLY);
            lastError = null;
        } catch (IOException e) {
            lastError = "cannot write " + file + ": " + e.getMessage()
                    + " (check that the state directory exists and is writable)";
            throw new UncheckedIOException(lastError, e);
        }
    }



    @Override
    public Identity allocate(Labels labels) {
        Optional<ReservedIdentity> reserved = ReservedIdentity.of(labels);
        if (reserved.isPresent()) return reserved.get().identity();
        if (clusterMode && !ReservedIdentity.isNodeLocal(labels)) return allocateInCluster(labels);
        return allocateHere(labels);
    }

    /** Asks the cluster's store (outside this table's lock: it may take a network round trip), then records it. */
    private Identity allocateInCluster(Labels labels) {
        ClusterIdentities c = cluster;
        if (c == null) {
            throw new IllegalStateException("cluster mode is configured (" + CLUSTER_PID + " etcdEndpoints) but its store"
                    + " is not connected yet (bundle septum-kvstore-etcd): new label sets wait for it");
        }
        long id = c.allocate(labels);
        String key = labels.toString();
        synchronized (this) {
            Identity identity = byLabels.get(key);
            if (identity == null || identity.id() != id) {
                Identity previous = identity;
                identity = new Identity(id, labels.asStrings(), false);
                // the store's answer wins: this label set's old local number, and other labels on this number, go
                if (previous != null) byId.remove(previous.id());
                byLabels.values().removeIf(i -> i.id() == id);
                recordPersisted(key, identity, () -> {
                    if (previous != null) {
                        byLabels.put(key, previous);
                        byId.put(previous.id(), previous);
                    }
                    c.release(id);
                });
            }
            refs.merge(id, 1, Integer::sum);
            return identity;
        }
    }

    private synchronized Identity allocateHere(Labels labels) {
        String key = labels.toString();
        Identity identity = byLabels.get(key);
        if (identity == null) {
            long id;
            if (ReservedIdentity.isNodeLocal(labels)) {
                id = nextLocal++;
            } else {
                if (nextCluster > ReservedIdentity.LAST_ALLOCATED) {
                    throw new IllegalStateException("identity range " + ReservedIdentity.FIRST_ALLOCATED + ".."
                            + ReservedIdentity.LAST_ALLOCATED + " is exhausted; remove unused label sets from " + file);
                }
                id = nextCluster++;
            }
            identity = new Identity(id, labels.asStrings(), false);
            recordPersisted(key, identity, () -> {
                if (id >= ReservedIdentity.FIRST_LOCAL) nextLocal--;
                else nextCluster--;
            });
        }
        refs.merge(identity.id(), 1, Integer::sum);
        return identity;
    }

    /**
     * Records a label set's number and writes the table; if the write fails, takes the record out again, runs
     * {@code undo} for what the caller changed before, and rethrows. Handing out a number that is not on disk could
     * give it to another label set after a restart. Caller holds this object's lock.
     */
    private void recordPersisted(String key, Identity identity, Runnable undo) {
        byLabels.put(key, identity);
        byId.put(identity.id(), identity);
        try {
            persist();
        } catch (UncheckedIOException e) {
            byLabels.remove(key);
            byId.remove(identity.id());
            undo.run();
            throw e;
        }
    }

    @Override
    public void release(long id) {
        boolean held;
        synchronized (this) {
            // Dropping to zero keeps the persisted mapping so that a returning label set keeps its number.
            held = refs.containsKey(id);
            refs.computeIfPresent(id, (k, n) -> n <= 1 ? null : n - 1);
        }
        ClusterIdentities c = cluster;
        if (held && clusterMode && c != null && id < ReservedIdentity.FIRST_LOCAL) c.release(id);
    }

    /**
     * This node's numbers first. In cluster mode a number this node does not reference now comes from the store (a
     * number freed by GC may come back with other labels, so an old local entry is not trusted), kept for
     * {@value #REMOTE_TTL_MILLIS} ms so that enriching flows does not cost a round trip each; when the store cannot
     * answer, what this node last knew.
     */
    @Override
    public Optional<Identity> get(long id) {
        Optional<ReservedIdentity> r = ReservedIdentity.byId(id);
        if (r.isPresent()) return Optional.of(r.get().identity());
        boolean clusterNumber = clusterMode && id < ReservedIdentity.FIRST_LOCAL;
        Identity mine;
        synchronized (this) {
            mine = byId.get(id);
            if (mine != null && (!clusterNumber || refs.containsKey(id))) return Optional.of(mine);
        }
        ClusterIdentities c = cluster;
        if (!clusterNumber || c == null) return Optional.ofNullable(mine);
        long now = System.currentTimeMillis();
        Remote cached = remoteCache.get(id);
        if (cached != null && now - cached.at() < REMOTE_TTL_MILLIS) return Optional.ofNullable(cached.identity());
        try {
            Optional<Identity> fromStore = c.get(id);
            if (remoteCache.size() > 70_000) remoteCache.clear();
            remoteCache.put(id, new Remote(fromStore.orElse(null), now));
            return fromStore;
        } catch (RuntimeException e) {
            return Optional.ofNullable(mine);
        }
    }

    private static final long REMOTE_TTL_MILLIS = 60_000;

    private record Remote(Identity identity, long at) {
    }

    private final java.util.concurrent.ConcurrentHashMap<Long, Remote> remoteCache = new java.util.concurrent.ConcurrentHashMap<>();

    @Override
    public synchronized Optional<Identity> lookup(Labels labels) {
        Optional<ReservedIdentity> reserved = ReservedIdentity.of(labels);
        if (reserved.isPresent()) return Optional.of(reserved.get().identity());
        return Optional.ofNullable(byLabels.get(labels.toString()));
    }

    /** Reserved identities and those referenced now; persisted but unreferenced ones are left out. */
    @Override
    public synchronized List<Identity> list() {
        List<Identity> out = new ArrayList<>();
        for (ReservedIdentity r : ReservedIdentity.values()) out.add(r.identity());
        for (Identity i : byId.values()) if (refs.containsKey(i.id())) out.add(i);
        out.sort((a, b) -> Long.compare(a.id(), b.id()));
        return out;
    }

    /** References held on {@code id} (for tests and status). */
    synchronized int references(long id) {
        return refs.getOrDefault(id, 0);
    }

    @Override
    public synchronized ComponentStatus health() {
        if (lastError != null || loadError != null) {
            return new ComponentStatus("identity", "degraded", lastError != null ? lastError : loadError);
        }
        String mode = !clusterMode ? "" : cluster == null ? ", cluster mode: waiting for the store" : ", cluster mode";
        return ComponentStatus.ok("identity", byId.size() + " persisted, " + refs.size() + " in use" + mode);
    }
}
