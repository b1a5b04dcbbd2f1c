package io.septum.kvstore.etcd.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.api.policy.ClusterPolicies;
import io.septum.api.policy.ClusterPolicy;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyRealizationListener;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.RejectedPolicy;
import io.septum.api.policy.ValidationError;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Cluster-wide policies over the kvstore.
 *
 * <ul>
 *   <li>{@code septum/state/policies/v1/<namespace or _>/<name>}: {@code {kind, namespace, name, document}}, no lease
 *       (a cluster policy outlives every node). An import writes every policy of the text in one transaction.</li>
 *   <li>Every node lists and watches that prefix and imports each policy into its repository with origin
 *       {@code cluster:<key>}; a deleted key removes it. A policy a node cannot take (it does not validate there,
 *       or the node has a local policy of that name) is recorded as rejected and shows in {@code policy list}.</li>
 *   <li>{@code septum/state/policy-status/v1/<node>}: {@code {<key>: <store revision>}} with the node's lease, the
 *       revision of each cluster policy whose repository revision the endpoint manager has realised.</li>
 * </ul>
 */
public final class PolicySync implements ClusterPolicies, PolicyRealizationListener, AutoCloseable {
    /** The author of a node's changes that come from the cluster's store. */
    static final String CLUSTER_AUTHOR = "cluster (etcd)";
    static final int MAX_AUTHOR = 200;
    static final String PREFIX = "septum/state/policies/v1/";
    static final String STATUS_PREFIX = "septum/state/policy-status/v1/";
    static final String ORIGIN_PREFIX = "cluster:";
    private static final Logger LOG = Logger.getLogger(PolicySync.class.getName());

    private final ObjectMapper json = new ObjectMapper();
    private final EtcdClient etcd;
    private final LeaseSession lease;
    private final String node;
    private final Supplier<PolicyEngine> engine;
    private final Supplier<PolicyRepository> repository;

    private final Object lock = new Object();
    /** Key to the store revision and the repository revision its import produced (guarded by lock). */
    private final Map<String, long[]> applied = new HashMap<>();
    /** Key to the store revision this node has realised (guarded by lock). */
    private final Map<String, Long> realizedKeys = new TreeMap<>();
    /** The highest repository revision the endpoint manager has realised (guarded by lock). */
    private long lastRealized;
    private volatile EtcdClient.Watch watch;
    private volatile String problem;

    public PolicySync(EtcdClient etcd, LeaseSession lease, String node, Supplier<PolicyEngine> engine,
                      Supplier<PolicyRepository> repository) {
        this.etcd = etcd;
        this.lease = lease;
        this.node = node;
        this.engine = engine;
        this.repository = repository;
    }

    static String key(String namespace, String name) {
        return PREFIX + (namespace == null || namespace.isEmpty() ? "_" : namespace) + "/" + name;
    }

    /** Lists the stored policies, applies them (dropping cluster policies no longer stored), then watches. */
    public void start() throws IOException {
        EtcdClient.RangeResult all = etcd.getPrefix(PREFIX);
        Map<String, EtcdClient.KeyValue> stored = new HashMap<>();
        for (EtcdClient.KeyValue kv : all.kvs()) stored.put(kv.key(), kv);
        PolicyRepository repo = repository.get();
        if (repo != null) {
            for (PolicyInfo p : repo.list()) {
                if (p.origin() != null && p.origin().startsWith(ORIGIN_PREFIX) && !stored.containsKey(p.origin().substring(ORIGIN_PREFIX.length()))) {
                    remove(repo, p.origin().substring(ORIGIN_PREFIX.length()), p.namespace(), p.name());
                }
            }
        }
        for (EtcdClient.KeyValue kv : all.kvs()) apply(kv);
        watch = etcd.watch(PREFIX, all.revision() + 1, this::onEvent, e -> {
            problem = "policy watch: " + e.getMessage();
            if (e instanceof EtcdClient.CompactedException) {
                EtcdClient.Watch w = watch;
                watch = null; // the watch ended: resync lists again
                if (w != null) w.close();
            }
        });
    }

    private void onEvent(EtcdClient.WatchEvent e) {
        if (e.delete()) {
            PolicyRepository repo = repository.get();
            String rest = e.kv().key().substring(PREFIX.length());
            int slash = rest.indexOf('/');
            if (repo != null && slash > 0) {
                String ns = rest.substring(0, slash);
                remove(repo, e.kv().key(), ns.equals("_") ? "" : ns, rest.substring(slash + 1));
            }
            return;
        }
        apply(e.kv());
    }

    private void remove(PolicyRepository repo, String key, String namespace, String name) {
        Optional<PolicyInfo> p = repo.get(namespace, name);
        synchronized (lock) {
            applied.remove(key);
            realizedKeys.remove(key);
        }
        repo.clearRejected(ORIGIN_PREFIX + key);
        if (p.isEmpty() || !(ORIGIN_PREFIX + key).equals(p.get().origin())) return; // a local policy: never ours to drop
        try {
            repo.delete(namespace, name, CLUSTER_AUTHOR);
        } catch (RuntimeException ex) {
            LOG.log(Level.WARNING, "cluster policy " + key + ": cannot remove it here", ex);
        }
    }

    private void apply(EtcdClient.KeyValue kv) {
        PolicyRepository repo = repository.get();
        if (repo == null) {
            problem = "no policy repository to import cluster policies into";
            return;
        }
        String origin = ORIGIN_PREFIX + kv.key();
        String kind = "", namespace = "", name = "", document, author;
        try {
            JsonNode n = json.readTree(kv.value());
            author = repositoryAuthor(n);
            kind = n.path("kind").asText("");
            namespace = n.path("namespace").asText("");
            name = n.path("name").asText("");
            document = n.path("document").asText("");
        } catch (IOException e) {
            reject(repo, origin, kind, namespace, name, "not a stored policy: " + e.getMessage(), kv.value());
            return;
        }
        // the document must be exactly the one policy its key names: a document that names another policy (or
        // several) would replace local policies by name on every node
        String rest = kv.key().substring(PREFIX.length());
        int slash = rest.indexOf('/');
        String keyNs = slash > 0 ? rest.substring(0, slash) : "";
        String keyName = slash > 0 ? rest.substring(slash + 1) : rest;
        if (keyNs.equals("_")) keyNs = "";
        PolicyEngine parser = engine.get();
        try {
            PolicySet one = parser == null ? null : parser.parse(origin, document);
            if (one == null || one.policies().size() != 1) {
                reject(repo, origin, kind, namespace, name, "a stored cluster policy must hold exactly one policy, it holds "
                        + (one == null ? "?" : one.policies().size()), document);
                return;
            }
            PolicyInfo only = one.policies().get(0);
            String onlyNs = only.namespace() == null ? "" : only.namespace();
            if (!onlyNs.equals(keyNs) || !only.name().equals(keyName)) {
                reject(repo, origin, kind, namespace, name, "its document is policy " + only.qualifiedName()
                        + " but its key names " + (keyNs.isEmpty() ? keyName : keyNs + "/" + keyName), document);
                return;
            }
            namespace = onlyNs;
            name = only.name();
        } catch (PolicyValidationException ex) {
            reject(repo, origin, kind, namespace, name, ex.getMessage(), document);
            return;
        }
        Optional<PolicyInfo> existing = repo.get(namespace, name);
        if (existing.isPresent() && !origin.equals(existing.get().origin())) {
            reject(repo, origin, kind, namespace, name, "this node has a local policy of that name (origin "
                    + existing.get().origin() + "): a cluster policy and a local one may not share a name", document);
            return;
        }
        try {
            long repoRevision = repo.importPolicies(origin, document, author).revision();
            repo.clearRejected(origin);
            Map<String, Long> snapshot = null;
            synchronized (lock) {
                applied.put(kv.key(), new long[] {kv.modRevision(), repoRevision});
                // the endpoint manager may have realised this revision before the import returned here
                if (repoRevision <= lastRealized) {
                    Long had = realizedKeys.put(kv.key(), kv.modRevision());
                    if (had == null || had != kv.modRevision()) snapshot = new TreeMap<>(realizedKeys);
                }
            }
            if (snapshot != null) publishStatus(snapshot);
            problem = null;
        } catch (PolicyValidationException e) {
            reject(repo, origin, kind, namespace, name, e.getMessage(), document);
        } catch (RuntimeException e) {
            reject(repo, origin, kind, namespace, name, e.toString(), document);
        }
    }

    private void reject(PolicyRepository repo, String origin, String kind, String namespace, String name, String reason,
                        String document) {
        problem = "cluster policy " + origin.substring(ORIGIN_PREFIX.length()) + " refused here: " + reason;
        LOG.warning(problem);
        repo.reportRejected(new RejectedPolicy(origin, kind, namespace, name, reason, System.currentTimeMillis(), document));
    }

    /** The endpoint manager realised this repository revision: publish the cluster policies it covers. */
    @Override
    public void realized(long revision, long latencyNanos, int endpoints) {
        Map<String, Long> snapshot;
        synchronized (lock) {
            lastRealized = Math.max(lastRealized, revision);
            boolean changed = false;
            for (Map.Entry<String, long[]> e : applied.entrySet()) {
                if (e.getValue()[1] > revision) continue;
                Long had = realizedKeys.put(e.getKey(), e.getValue()[0]);
                changed |= had == null || had != e.getValue()[0];
            }
            if (!changed) return;
            snapshot = new TreeMap<>(realizedKeys);
        }
        publishStatus(snapshot);
    }

    private void publishStatus(Map<String, Long> snapshot) {
        long leaseId = lease.id();
        if (leaseId == 0) return;
        try {
            etcd.put(STATUS_PREFIX + node, json.writeValueAsString(snapshot), leaseId);
        } catch (IOException e) {
            problem = "publishing realised policy revisions: " + e.getMessage();
        }
    }

    /** Re-publishes this node's realised revisions (after a lease loss, and periodically); lists again if the first listing failed. */
    public void resync() {
        if (watch == null) {
            try {
                start();
            } catch (IOException e) {
                problem = "listing cluster policies: " + e.getMessage();
            }
        }
        Map<String, Long> snapshot;
        synchronized (lock) {
            snapshot = new TreeMap<>(realizedKeys);
        }
        if (!snapshot.isEmpty()) publishStatus(snapshot);
    }

    public String problem() {
        String p = problem;
        EtcdClient.Watch w = watch;
        // a watch that broke and was re-opened is healthy again before any new event comes
        if (p != null && p.startsWith("policy watch: ") && w != null && w.open()) return null;
        return p;
    }

    // ------------------------------------------------------------------ ClusterPolicies

    /** What a node's history says of a stored policy's author: who stored it, and that it came through etcd. */
    static String repositoryAuthor(JsonNode stored) {
        String who = storedAuthor(stored.path("author").asText(""));
        return who == null ? CLUSTER_AUTHOR : who + " via " + CLUSTER_AUTHOR;
    }

    /**
     * An author as it is stored and shown: one line of at most {@value #MAX_AUTHOR} characters (code points) without
     * control or format characters and line or paragraph separators (the store is written by other nodes, and the
     * history is read on terminals); null when blank.
     */
    static String storedAuthor(String author) {
        if (author == null) return null;
        String clean = author.replaceAll("[\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}]", " ").strip();
        if (clean.isEmpty()) return null;
        int points = clean.codePointCount(0, clean.length());
        return points > MAX_AUTHOR ? clean.substring(0, clean.offsetByCodePoints(0, MAX_AUTHOR)) : clean;
    }

    @Override
    public List<ClusterPolicy> importPolicies(String text, String author) throws PolicyValidationException {
        PolicyEngine e = engine.get();
        PolicyRepository repo = repository.get();
        if (e == null || repo == null) throw new IllegalStateException("the policy engine is not running");
        PolicySet parsed = e.parse("cluster", text);
        List<ValidationError> clashes = new ArrayList<>();
        List<EtcdClient.Op> puts = new ArrayList<>();
        for (PolicyInfo p : parsed.policies()) {
            String key = key(p.namespace(), p.name());
            Optional<PolicyInfo> local = repo.get(p.namespace(), p.name());
            if (local.isPresent() && !(ORIGIN_PREFIX + key).equals(local.get().origin())) {
                clashes.add(new ValidationError("cluster", 0, p.kind(), p.qualifiedName(), "metadata.name",
                        "this node has a local policy of that name (origin " + local.get().origin()
                                + "): a cluster policy and a local one may not share a name"));
                continue;
            }
            if (local.isPresent() && !local.get().kind().equals(p.kind())) {
                // the store keeps one object per namespace and name: this one would replace the other kind's
                clashes.add(new ValidationError("cluster", 0, p.kind(), p.qualifiedName(), "metadata.name",
                        "the cluster has a " + local.get().kind() + " of that name: a " + p.kind() + " may not take"
                                + " it (the store keeps one object per name); delete that one first"));
                continue;
            }
            ObjectNode v = json.createObjectNode();
            v.put("kind", p.kind());
            v.put("namespace", p.namespace() == null ? "" : p.namespace());
            v.put("name", p.name());
            v.put("document", p.document());
            String who = storedAuthor(author);
            if (who != null) v.put("author", who);
            puts.add(new EtcdClient.Op.Put(key, v.toString(), 0));
        }
        if (!clashes.isEmpty()) throw new PolicyValidationException(clashes);
        try {
            etcd.txn(List.of(), puts, List.of());
        } catch (IOException ex) {
            throw new IllegalStateException("cannot store the policies in etcd: " + ex.getMessage(), ex);
        }
        List<String> keys = parsed.policies().stream().map(p -> key(p.namespace(), p.name())).toList();
        return list().stream().filter(c -> keys.contains(key(c.namespace(), c.name()))).toList();
    }

    @Override
    public boolean delete(String namespace, String name) {
        try {
            return etcd.delete(key(namespace, name)) > 0;
        } catch (IOException e) {
            throw new IllegalStateException("cannot delete the policy from etcd: " + e.getMessage(), e);
        }
    }

    @Override
    public List<ClusterPolicy> list() {
        try {
            Map<String, Map<String, Long>> realized = new HashMap<>();
            for (EtcdClient.KeyValue kv : etcd.getPrefix(STATUS_PREFIX).kvs()) {
                String who = kv.key().substring(STATUS_PREFIX.length());
                JsonNode n = json.readTree(kv.value());
                n.fields().forEachRemaining(f -> realized.computeIfAbsent(f.getKey(), k -> new TreeMap<>()).put(who, f.getValue().asLong()));
            }
            List<ClusterPolicy> out = new ArrayList<>();
            for (EtcdClient.KeyValue kv : etcd.getPrefix(PREFIX).kvs()) {
                JsonNode n = json.readTree(kv.value());
                out.add(new ClusterPolicy(n.path("namespace").asText(""), n.path("name").asText(""), n.path("kind").asText(""),
                        kv.modRevision(), realized.getOrDefault(kv.key(), Map.of())));
            }
            out.sort(Comparator.comparing(ClusterPolicy::qualifiedName));
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the cluster policies from etcd: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (watch != null) watch.close();
    }
}
