package io.septum.kvstore.etcd.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.api.Identity;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.ReservedIdentity;
import io.septum.support.io.AtomicFiles;
import io.septum.kvstore.etcd.internal.EtcdClient.Compare;
import io.septum.kvstore.etcd.internal.EtcdClient.KeyValue;
import io.septum.kvstore.etcd.internal.EtcdClient.Op;
import io.septum.kvstore.etcd.internal.EtcdClient.RangeResult;
import io.septum.kvstore.etcd.internal.EtcdClient.TxnResult;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Cluster-wide label identities in etcd, laid out as Cilium's kvstore allocator does:
 * <ul>
 *   <li>master {@code <prefix>/id/<n>} → the label string, with no lease (it outlives every node);</li>
 *   <li>reference ("slave") {@code <prefix>/value/<labels>/<node>} → {@code n}, with this node's lease.</li>
 * </ul>
 * A new number is taken with one txn that checks both that {@code id/<n>} does not exist and that no node references
 * the label set yet, and writes the master and this node's reference together. Cilium serialises allocators with a
 * per-label-set lock key instead; the range compare (an empty {@code value/<labels>/} range) gives the same
 * guarantee (one number per label set) without a lock that can go stale (cilium#9046). A lost race is retried.
 *
 * <p>Every number this node has held is also kept in {@code cluster-identities.json} in the state directory: with
 * etcd down, a label set seen before keeps its number (fail static); an unknown one cannot be allocated.
 * Reserved label sets keep Cilium's reserved numbers and never reach etcd; {@code cidr:} sets are node-local.
 */
public final class KvstoreIdentityAllocator {
    public static final String DEFAULT_PREFIX = "septum/state/identities/v1";
    static final String CACHE_FILE = "cluster-identities.json";
    private static final Logger LOG = Logger.getLogger(KvstoreIdentityAllocator.class.getName());
    private static final int MAX_ATTEMPTS = 32;

    private final EtcdClient etcd;
    private final LeaseSession lease;
    private final String prefix;
    private final String node;
    private final Path cacheFile;
    private final long min;
    private final long max;
    private final ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Label string (Cilium format) to number, for every number this node has held (the on-disk cache). */
    private final Map<String, Long> cache = new HashMap<>();
    private final Map<Long, String> cacheById = new TreeMap<>();
    private final Map<Long, Integer> refs = new HashMap<>();
    /** Numbers handed out from the cache while etcd was unreachable: their references are written on resync. */
    private final Set<Long> unsynced = new TreeSet<>();
    private final AtomicLong conflicts = new AtomicLong();
    private volatile String lastError;

    public KvstoreIdentityAllocator(EtcdClient etcd, LeaseSession lease, String prefix, String node, Path stateDir) {
        this(etcd, lease, prefix, node, stateDir, ReservedIdentity.FIRST_ALLOCATED, ReservedIdentity.LAST_ALLOCATED);
    }

    KvstoreIdentityAllocator(EtcdClient etcd, LeaseSession lease, String prefix, String node, Path stateDir,
                             long min, long max) {
        if (node == null || node.isBlank() || node.contains("/")) {
            throw new IllegalArgumentException("node name must be non-empty and without '/': " + node);
        }
        this.etcd = etcd;
        this.lease = lease;
        this.prefix = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
        this.node = node;
        this.cacheFile = stateDir.resolve(CACHE_FILE);
        this.min = min;
        this.max = max;
        loadCache();
        lease.onNewLease(id -> resync());
    }

    // ---------------------------------------------------------------- keys and values

    /** Cilium's label-string format, {@code src:k=v;src:k=v;}, with '\' and ';' inside a label escaped by '\'. */
    static String encode(Labels labels) {
        StringBuilder sb = new StringBuilder();
        for (String l : labels.asStrings()) sb.append(l.replace("\\", "\\\\").replace(";", "\\;")).append(';');
        return sb.toString();
    }

    static Labels decode(String value) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\\' && i + 1 < value.length()) cur.append(value.charAt(++i));
            else if (c == ';') {
                out.add(cur.toString());
                cur.setLength(0);
            } else cur.append(c);
        }
        if (cur.length() > 0) out.add(cur.toString());
        return Labels.parse(out, Label.ANY);
    }

    /** The label string as one key segment: '%' and '/' are percent-escaped so that no set is a prefix of another. */
    static String segment(String value) {
        return value.replace("%", "%25").replace("/", "%2F");
    }

    String masterKey(long id) {
        return prefix + "/id/" + id;
    }

    String valuePrefix(String value) {
        return prefix + "/value/" + segment(value) + "/";
    }

    String referenceKey(String value) {
        return valuePrefix(value) + node;
    }

    public String node() {
        return node;
    }

    /** Lost allocation races so far (a create-only txn that found the number or the label set taken). */
    public long conflicts() {
        return conflicts.get();
    }

    // ---------------------------------------------------------------- allocation

    /**
     * The cluster-wide number of {@code labels}, counting one reference of this node. With etcd unreachable, a label
     * set this node has held before gets its cached number; any other fails with {@link IllegalStateException}.
     */
    public synchronized Identity allocate(Labels labels) {
        Optional<ReservedIdentity> reserved = ReservedIdentity.of(labels);
        if (reserved.isPresent()) return reserved.get().identity();
        if (ReservedIdentity.isNodeLocal(labels)) {
            throw new IllegalArgumentException("cidr label sets are node-local identities, not cluster-wide: " + labels);
        }
        String value = encode(labels);
        Long cached = cache.get(value);
        if (cached != null && refs.getOrDefault(cached, 0) > 0 && !unsynced.contains(cached)) {
            refs.merge(cached, 1, Integer::sum);
            return identity(cached, labels);
        }
        long id;
        try {
            id = allocateInKvstore(value);
            unsynced.remove(id);
            lastError = null;
        } catch (IOException e) {
            lastError = "etcd: " + e.getMessage();
            if (cached == null) {
                throw new IllegalStateException("cannot allocate a cluster identity for " + labels + ": etcd is"
                        + " unreachable (" + e.getMessage() + ") and this node has no cached number for it", e);
            }
            LOG.warning(() -> "etcd unreachable; " + labels + " keeps its cached identity " + cached);
            id = cached;
            unsynced.add(id);
        }
        if (cached == null || cached != id) {
            if (cached != null) {
                LOG.warning("label set " + labels + " had cached identity " + cached + ", the cluster says " + id);
                cacheById.remove(cached);
            }
            cache.put(value, id);
            cacheById.put(id, value);
            persistCache();
        }
        refs.merge(id, 1, Integer::sum);
        return identity(id, labels);
    }

    private long allocateInKvstore(String value) throws IOException {
        String valuePrefix = valuePrefix(value);
        String refKey = referenceKey(value);
        if (lease.id() == 0) throw new IOException("no etcd lease yet (" + lease.lastError() + ")");
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            // 1. Some node already references the label set: use its number, if the master is still there.
            RangeResult existing = etcd.getPrefix(valuePrefix);
            if (!existing.kvs().isEmpty()) {
                long id = Long.parseLong(existing.first().value().trim());
                TxnResult r = etcd.txn(List.of(Compare.value(masterKey(id), value)),
                        List.of(new Op.Put(refKey, Long.toString(id), lease.id())), List.of());
                if (r.succeeded()) return id;
                // The master went away (GC) or holds other labels: start over.
                conflicts.incrementAndGet();
                backoff(attempt);
                continue;
            }
            // 2. No references: reuse a master that still names these labels (unreferenced, awaiting GC), else take
            //    a free number, preferring the one this node cached.
            RangeResult masters = etcd.getPrefix(prefix + "/id/");
            Set<Long> taken = new HashSet<>();
            KeyValue reuse = null;
            for (KeyValue kv : masters.kvs()) {
                long id = idOf(kv.key());
                if (id < 0) continue;
                taken.add(id);
                if (value.equals(kv.value()) && (reuse == null || id < idOf(reuse.key()))) reuse = kv;
            }
            List<Compare> cmp = new ArrayList<>();
            List<Op> ops = new ArrayList<>();
            cmp.add(Compare.prefixAbsent(valuePrefix));
            long id;
            if (reuse != null) {
                id = idOf(reuse.key());
                cmp.add(Compare.modRevision(reuse.key(), reuse.modRevision()));
            } else {
                id = freeNumber(taken, cache.get(value), attempt);
                cmp.add(Compare.absent(masterKey(id)));
                ops.add(new Op.Put(masterKey(id), value, 0));
            }
            ops.add(new Op.Put(refKey, Long.toString(id), lease.id()));
            if (etcd.txn(cmp, ops, List.of()).succeeded()) return id;
            conflicts.incrementAndGet();
            backoff(attempt);
        }
        throw new IOException("no cluster identity after " + MAX_ATTEMPTS + " attempts (contention on " + prefix + ")");
    }

    /** The cached number if free, else the lowest free one; after lost races, a random one of the first few free. */
    private long freeNumber(Set<Long> taken, Long preferred, int attempt) {
        if (preferred != null && attempt == 0 && preferred >= min && preferred <= max && !taken.contains(preferred)) {
            return preferred;
        }
        int skip = attempt == 0 ? 0 : ThreadLocalRandom.current().nextInt(Math.min(4 * (attempt + 1), 64));
        for (long n = min; n <= max; n++) {
            // Numbers this node cached for other label sets are avoided while free elsewhere: a restart keeps them.
            if (taken.contains(n) || cacheById.containsKey(n)) continue;
            if (skip-- == 0) return n;
        }
        for (long n = min; n <= max; n++) if (!taken.contains(n)) return n;
        throw new IllegalStateException("cluster identity range " + min + ".." + max + " is exhausted");
    }

    private static void backoff(int attempt) {
        if (attempt == 0) return;
        long ms = Math.min(20L << Math.min(attempt - 1, 5), 640);
        try {
            Thread.sleep(ThreadLocalRandom.current().nextLong(ms / 2, ms + 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while allocating an identity", e);
        }
    }

    private long idOf(String key) {
        String p = prefix + "/id/";
        if (!key.startsWith(p)) return -1;
        try {
            return Long.parseLong(key.substring(p.length()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Drops one reference; the last one deletes this node's reference key (the master stays until GC). */
    public synchronized void release(long id) {
        Integer n = refs.get(id);
        if (n == null) return;
        if (n > 1) {
            refs.put(id, n - 1);
            return;
        }
        refs.remove(id);
        String value = cacheById.get(id);
        if (value == null) return;
        try {
            etcd.delete(referenceKey(value));
        } catch (IOException e) {
            // The key goes with the lease if this node dies; otherwise the next resync retries the delete.
            lastError = "etcd: " + e.getMessage();
            LOG.log(Level.WARNING, "cannot delete the reference to identity " + id + "; retried on resync", e);
        }
    }

    public synchronized Optional<Identity> lookup(Labels labels) throws IOException {
        Optional<ReservedIdentity> reserved = ReservedIdentity.of(labels);
        if (reserved.isPresent()) return Optional.of(reserved.get().identity());
        String value = encode(labels);
        KeyValue kv = etcd.getPrefix(valuePrefix(value)).first();
        return kv == null ? Optional.empty() : Optional.of(identity(Long.parseLong(kv.value().trim()), labels));
    }

    /** The labels of a number, from etcd (a remote node's identity) or this node's cache when etcd is unreachable. */
    public Optional<Identity> get(long id) {
        Optional<ReservedIdentity> reserved = ReservedIdentity.byId(id);
        if (reserved.isPresent()) return Optional.of(reserved.get().identity());
        try {
            KeyValue kv = etcd.get(masterKey(id)).first();
            return kv == null ? Optional.empty() : Optional.of(identity(id, decode(kv.value())));
        } catch (IOException e) {
            synchronized (this) {
                String v = cacheById.get(id);
                return v == null ? Optional.empty() : Optional.of(identity(id, decode(v)));
            }
        }
    }

    /**
     * Re-creates this node's reference keys (with the current lease) for every number it holds, and the master if GC
     * or an operator removed it while this node was away; runs after a lease loss and periodically (Cilium's
     * kvstore-periodic-sync). Returns how many keys were written. A master that now names other labels is a conflict
     * that is logged and reported in {@link #lastError()}: the local number keeps enforcing (fail static).
     */
    public synchronized int resync() {
        int written = 0;
        List<String> errors = new ArrayList<>();
        if (lease.id() == 0) {
            lastError = "no etcd lease yet (" + lease.lastError() + ")";
            return 0;
        }
        for (Map.Entry<Long, String> e : cacheById.entrySet()) {
            long id = e.getKey();
            String value = e.getValue();
            try {
                if (!refs.containsKey(id)) {
                    etcd.delete(referenceKey(value));
                    continue;
                }
                String refKey = referenceKey(value);
                TxnResult r = etcd.txn(List.of(Compare.value(masterKey(id), value)),
                        List.of(new Op.Put(refKey, Long.toString(id), lease.id())), List.of());
                if (!r.succeeded()) {
                    r = etcd.txn(List.of(Compare.absent(masterKey(id)), Compare.prefixAbsent(valuePrefix(value))),
                            List.of(new Op.Put(masterKey(id), value, 0), new Op.Put(refKey, Long.toString(id), lease.id())),
                            List.of());
                    if (!r.succeeded()) {
                        errors.add("identity " + id + " (" + decode(value) + ") is taken in the cluster by another"
                                + " label set or number; this node keeps enforcing with its local number");
                        continue;
                    }
                    written++;
                }
                written++;
                unsynced.remove(id);
            } catch (IOException ex) {
                errors.add("etcd: " + ex.getMessage());
                break;
            }
        }
        lastError = errors.isEmpty() ? null : String.join("; ", errors);
        if (lastError != null) LOG.warning("identity resync: " + lastError);
        return written;
    }

    public String lastError() {
        return lastError;
    }

    public synchronized int inUse() {
        return refs.size();
    }

    // ---------------------------------------------------------------- helpers

    private static Identity identity(long id, Labels labels) {
        return new Identity(id, labels.asStrings(), false);
    }



    private void loadCache() {
        if (!Files.exists(cacheFile)) return;
        try {
            for (JsonNode n : json.readTree(cacheFile.toFile()).path("identities")) {
                long id = n.path("id").asLong(-1);
                String value = n.path("labels").asText("");
                if (id < min || id > max || value.isEmpty()) continue;
                cache.put(value, id);
                cacheById.put(id, value);
            }
        } catch (IOException e) {
            LOG.log(Level.SEVERE, "cannot read " + cacheFile + "; cluster identities are taken from etcd only", e);
        }
    }

    private void persistCache() {
        ObjectNode root = json.createObjectNode().put("version", 1);
        ArrayNode list = root.putArray("identities");
        cacheById.forEach((id, v) -> list.addObject().put("id", id).put("labels", v));
        try {
            Files.createDirectories(cacheFile.getParent());
            AtomicFiles.write(cacheFile, json.writeValueAsBytes(root), AtomicFiles.OWNER_ONLY);
        } catch (IOException e) {
            lastError = "cannot write " + cacheFile + ": " + e.getMessage();
            throw new UncheckedIOException(lastError, e);
        }
    }
}
