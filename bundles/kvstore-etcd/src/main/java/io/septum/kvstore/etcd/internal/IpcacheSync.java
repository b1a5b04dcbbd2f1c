package io.septum.kvstore.etcd.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.api.Endpoint;
import io.septum.api.EndpointListener;
import io.septum.api.EndpointSnapshot;
import io.septum.api.IpPrefix;
import io.septum.api.NamedPort;
import io.septum.api.RemoteEndpoint;
import io.septum.api.RemoteEndpointChanges;
import io.septum.api.RemoteEndpoints;
import io.septum.api.ReservedIdentity;
import io.septum.support.thread.DaemonThreads;
import io.septum.support.thread.Listeners;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The ipcache over the kvstore, and the node registry it depends on.
 *
 * <ul>
 *   <li>This node registers under {@code septum/state/nodes/v1/<node>} (name, addresses, the endpoint CIDRs it owns,
 *       agent version, start time) and publishes each of its endpoints' addresses under
 *       {@code septum/state/ip/v1/<node>/<ip>} (ip, identity, node, namespace, name, named ports), both with the
 *       node's lease, so that they disappear when the node stops renewing it. Every key a node writes is under its own name, which is
 *       what per-node etcd roles restrict (see docs/cluster.md).</li>
 *   <li>It lists and then watches both prefixes of every other node and serves the result as
 *       {@link RemoteEndpoints}: an entry counts only when its node is registered, its key and value name the same
 *       node, its address is inside a CIDR that node registered (or, when the operator wrote
 *       {@code septum/state/node-cidrs/v1/<node>}, inside those instead), and its identity is a cluster-wide one
 *       (256..65535).
 *       Each node's own addresses are listed with identity {@code remote-node} (6).</li>
 * </ul>
 *
 * Publishing follows the endpoint index ({@link EndpointListener}); a failed write is retried by {@link #resync()},
 * which the component runs periodically and after a lease loss (the new lease carries every key again).
 */
public final class IpcacheSync implements RemoteEndpoints, EndpointListener, AutoCloseable {
    static final String IP_PREFIX = "septum/state/ip/v1/";
    /**
     * Operator-written CIDRs per node ({@code {"cidrs": [...]}}, written by scripts/etcd-roles.sh --cidr under a
     * prefix no node's etcd role can write): when a node has one, receivers take its endpoint addresses only inside
     * these, whatever it registered itself.
     */
    static final String NODE_CIDRS_PREFIX = "septum/state/node-cidrs/v1/";
    static final String NODE_PREFIX = "septum/state/nodes/v1/";
    private static final Logger LOG = Logger.getLogger(IpcacheSync.class.getName());

    /**
     * What a node registers about itself.
     *
     * @param peer {@code host:port} of its peer flow service (observe --cluster dials it), null when it serves none;
     *             records written before the field existed read as null
     */
    public record NodeInfo(String name, List<String> addresses, List<String> cidrs, String version, long startTime,
                           String peer) {
        public NodeInfo {
            addresses = List.copyOf(addresses);
            cidrs = List.copyOf(cidrs);
        }

        public NodeInfo(String name, List<String> addresses, List<String> cidrs, String version, long startTime) {
            this(name, addresses, cidrs, version, startTime, null);
        }
    }

    private final ObjectMapper json = new ObjectMapper();
    private final EtcdClient etcd;
    private final LeaseSession lease;
    private final NodeInfo self;
    private final List<IpPrefix> ownCidrs = new ArrayList<>();
    private final Set<IpPrefix> ownAddresses = new HashSet<>();
    private final Listeners<Runnable> listeners = new Listeners<>(LOG, "a remote endpoints listener failed");
    private final java.util.concurrent.Executor writer;
    /** Serialises re-listing (the lease thread and the timer both resync). */
    private final Object relistLock = new Object();

    private final Object lock = new Object();
    /** Key to value, as this node last wrote them (guarded by lock). */
    private final Map<String, String> published = new HashMap<>();
    /** Key to value, as this node wants them (guarded by lock). */
    private Map<String, String> desired = Map.of();
    private long publishedLease;
    private String publishError;
    private int outsideCidrs;
    /** Other nodes, and every ip key seen, raw (guarded by lock): validation happens when listing. */
    private final Map<String, NodeInfo> nodes = new TreeMap<>();
    /** Node name to the lease its registration carries (its heartbeat), guarded by lock. */
    private final Map<String, Long> nodeLeases = new HashMap<>();
    /** Every ip key seen, with what can be checked once, when it arrives (guarded by lock). */
    private final TreeMap<String, ReceivedIpKey> ipKeys = new TreeMap<>();
    /** The CIDRs each registered node claims, parsed once per registration (guarded by lock). */
    private final Map<String, List<IpPrefix>> nodeCidrs = new HashMap<>();
    /** Node name to how many address claims its registration made (guarded by lock). */
    private final Map<String, Integer> nodeAddressClaims = new HashMap<>();
    /** Node name to its operator-written CIDRs (guarded by lock); a malformed key is an empty list: nothing passes. */
    private final Map<String, List<IpPrefix>> operatorCidrs = new HashMap<>();
    /** The accepted entries and the duplicate claims, updated per event (guarded by lock). */
    private final AcceptedEndpoints accepted = new AcceptedEndpoints(4096);
    /** The version of the accepted entries the listeners last heard of (guarded by lock). */
    private long notifiedVersion;
    private volatile EtcdClient.Watch nodeWatch, ipWatch, cidrWatch;
    /** The first listing is in (Cilium's ListDone); never false again (a re-list keeps serving the last state). */
    private volatile boolean synced;
    private volatile long lastRevision;
    private volatile String watchError;
    private volatile boolean relist;
    /**
     * Watch events update the accepted entries in place (an ip key costs O(log n), a node's registration O(its keys));
     * listeners are called on this thread, and changes that arrive while a call is queued share it, as the
     * endpoint manager coalesces its passes anyway. (Rebuilding the whole list per event made a burst of n events
     * cost O(n^2) on the watch thread; rebuilding it per batch still cost O(entries) per change.)
     */
    private final ExecutorService notifier = Executors.newSingleThreadExecutor(DaemonThreads.named("septum-kvstore-remote-endpoints"));
    private final AtomicBoolean notifyQueued = new AtomicBoolean();

    /** @param writer runs the etcd writes that follow endpoint changes (never the caller's notification thread) */
    public IpcacheSync(EtcdClient etcd, LeaseSession lease, NodeInfo self, java.util.concurrent.Executor writer) {
        this.etcd = etcd;
        this.lease = lease;
        this.self = self;
        this.writer = writer;
        for (String c : self.cidrs()) ownCidrs.add(IpPrefix.parse(c));
        for (String a : self.addresses()) {
            try {
                ownAddresses.add(IpPrefix.parse(a));
            } catch (IllegalArgumentException ignored) {
                // matched by its text in mine(String)
            }
        }
    }

    /**
     * Registers this node (with its lease: never without one, or the key would outlive the node), lists the others'
     * keys and starts watching them. What fails here is retried by {@link #resync()}.
     */
    public void start() {
        publish();
        try {
            listAndWatch();
        } catch (IOException e) {
            relist = true;
            watchError = "listing the other nodes failed: " + e.getMessage();
            LOG.warning("kvstore: " + watchError + " (retrying)");
        }
    }

    private void registerNode(long leaseId) throws IOException {
        ObjectNode n = json.createObjectNode();
        n.put("name", self.name());
        n.set("addresses", json.valueToTree(self.addresses()));
        n.set("cidrs", json.valueToTree(self.cidrs()));
        n.put("version", self.version());
        n.put("startTime", self.startTime());
        if (self.peer() != null) n.put("peer", self.peer());
        etcd.put(NODE_PREFIX + self.name(), n.toString(), leaseId);
    }

    private void listAndWatch() throws IOException {
        // operator CIDRs first: an ip key listed after them is never judged by a node's own wider claim
        EtcdClient.RangeResult cidrs = etcd.getPrefix(NODE_CIDRS_PREFIX);
        EtcdClient.RangeResult ns = etcd.getPrefix(NODE_PREFIX);
        EtcdClient.RangeResult ips = etcd.getPrefix(IP_PREFIX);
        synchronized (lock) {
            // every claim again, settled once at the end: consumers see what differs from before, never a gap
            accepted.beginRebuild();
            nodes.clear();
            nodeCidrs.clear();
            ipKeys.clear();
            operatorCidrs.clear();
            for (EtcdClient.KeyValue kv : cidrs.kvs()) cidrEvent(false, kv);
            for (EtcdClient.KeyValue kv : ns.kvs()) nodeEvent(false, kv);
            for (EtcdClient.KeyValue kv : ips.kvs()) ipEvent(false, kv);
            accepted.endRebuild();
        }
        long from = Math.max(cidrs.revision(), Math.max(ns.revision(), ips.revision())) + 1;
        lastRevision = from - 1;
        closeWatches();
        relist = false;
        watchError = null;
        cidrWatch = etcd.watch(NODE_CIDRS_PREFIX, cidrs.revision() + 1, e -> onEvent(this::cidrEvent, e), this::onWatchError);
        nodeWatch = etcd.watch(NODE_PREFIX, ns.revision() + 1, e -> onEvent(this::nodeEvent, e), this::onWatchError);
        ipWatch = etcd.watch(IP_PREFIX, ips.revision() + 1, e -> onEvent(this::ipEvent, e), this::onWatchError);
        notifyListeners(true);
    }

    private interface KeyHandler {
        void apply(boolean delete, EtcdClient.KeyValue kv);
    }

    private void onEvent(KeyHandler handler, EtcdClient.WatchEvent e) {
        synchronized (lock) {
            handler.apply(e.delete(), e.kv());
        }
        lastRevision = Math.max(lastRevision, e.kv().modRevision());
        watchError = null;
        requestNotify();
    }

    private void onWatchError(Exception e) {
        watchError = e.getMessage();
        if (e instanceof EtcdClient.CompactedException) relist = true;
        LOG.log(Level.FINE, "kvstore watch: " + e.getMessage(), e);
    }

    private void cidrEvent(boolean delete, EtcdClient.KeyValue kv) {
        String name = kv.key().substring(NODE_CIDRS_PREFIX.length());
        if (delete) {
            operatorCidrs.remove(name);
            reclaim(name);
            return;
        }
        List<IpPrefix> cidrs = new ArrayList<>();
        try {
            JsonNode n = json.readTree(kv.value());
            if (!n.path("cidrs").isArray()) throw new IOException("no \"cidrs\" list");
            for (JsonNode c : n.path("cidrs")) cidrs.add(IpPrefix.parse(c.asText()));
        } catch (IOException | RuntimeException ex) {
            // written by the operator, but wrong: the node gets no address rather than the ones it claims
            LOG.warning("kvstore: operator CIDRs " + kv.key() + " unreadable (" + ex.getMessage() + "): node " + name
                    + " gets no endpoint address until it is fixed");
            cidrs.clear();
        }
        operatorCidrs.put(name, List.copyOf(cidrs));
        reclaim(name);
    }

    private void nodeEvent(boolean delete, EtcdClient.KeyValue kv) {
        String name = kv.key().substring(NODE_PREFIX.length());
        if (name.equals(self.name())) return;
        if (delete) {
            nodes.remove(name);
            nodeCidrs.remove(name);
            nodeLeases.remove(name);
            reclaim(name);
            return;
        }
        nodeLeases.put(name, kv.lease());
        try {
            JsonNode n = json.readTree(kv.value());
            List<String> addresses = new ArrayList<>(), cidrs = new ArrayList<>();
            n.path("addresses").forEach(a -> addresses.add(a.asText()));
            n.path("cidrs").forEach(c -> cidrs.add(c.asText()));
            if (!name.equals(n.path("name").asText())) throw new IOException("its name is \"" + n.path("name").asText() + "\"");
            String peer = n.hasNonNull("peer") && !n.get("peer").asText().isBlank() ? n.get("peer").asText() : null;
            nodes.put(name, new NodeInfo(name, addresses, cidrs, n.path("version").asText(), n.path("startTime").asLong(), peer));
            List<IpPrefix> parsed = new ArrayList<>();
            for (String c : cidrs) {
                try {
                    parsed.add(IpPrefix.parse(c));
                } catch (IllegalArgumentException ignored) {
                    // a CIDR nobody can match
                }
            }
            nodeCidrs.put(name, List.copyOf(parsed));
        } catch (IOException | RuntimeException ex) {
            LOG.warning("kvstore: ignoring node key " + kv.key() + ": " + ex.getMessage());
            nodes.remove(name);
            nodeCidrs.remove(name);
        }
        reclaim(name);
    }

    private void ipEvent(boolean delete, EtcdClient.KeyValue kv) {
        String rest = kv.key().substring(IP_PREFIX.length());
        int slash = rest.indexOf('/');
        if (slash <= 0) return;
        String node = rest.substring(0, slash);
        if (node.equals(self.name())) return;
        if (delete) {
            ipKeys.remove(kv.key());
            claim(kv.key());
            return;
        }
        try {
            JsonNode n = json.readTree(kv.value());
            List<NamedPort> ports = new ArrayList<>();
            for (JsonNode p : n.path("ports")) {
                String t = p.asText();
                int eq = t.indexOf('=');
                if (eq <= 0) throw new IllegalArgumentException("named port \"" + t + "\" is not NAME=PORT/PROTOCOL");
                ports.add(NamedPort.parse(t.substring(0, eq), t.substring(eq + 1)));
            }
            RemoteEndpoint e = new RemoteEndpoint(n.path("ip").asText(), n.path("identity").asLong(), n.path("node").asText(),
                    n.path("namespace").asText(""), n.path("name").asText(""), ports);
            ipKeys.put(kv.key(), ReceivedIpKey.of(kv.key(), e, this::mine));
        } catch (IOException | RuntimeException ex) {
            LOG.warning("kvstore: ignoring ipcache key " + kv.key() + ": " + ex.getMessage());
            ipKeys.remove(kv.key());
        }
        claim(kv.key());
    }

    /** Whether an address is this node's own (its endpoint CIDRs or its node addresses): no other node may claim it. */
    private boolean mine(String ip) {
        if (self.addresses().contains(ip)) return true;
        try {
            return mine(IpPrefix.parse(ip));
        } catch (IllegalArgumentException e) {
            return true; // not an address: nobody gets it
        }
    }

    private boolean mine(IpPrefix ip) {
        if (ownAddresses.contains(ip)) return true;
        for (IpPrefix c : ownCidrs) if (c.contains(ip)) return true;
        return false;
    }

    /**
     * Makes the ip key's claim what the registrations allow now: its endpoint, or none. The caller holds the lock.
     */
    private void claim(String key) {
        ReceivedIpKey r = ipKeys.get(key);
        String why = null;
        if (r != null) {
            String node = r.endpoint().node();
            why = r.refusal(nodes.get(node), nodeCidrs.getOrDefault(node, List.of()), operatorCidrs.get(node));
            if (why == null && r.own()) why = r.endpoint().ip() + " is this node's own";
            if (why != null) {
                String reason = why;
                LOG.fine(() -> "kvstore: ignoring " + key + ": " + reason);
            }
        }
        accepted.claim(key, why == null && r != null ? r.endpoint() : null);
    }

    /**
     * A node's registration or operator CIDRs changed: its ip keys are judged again, and its own addresses (each a
     * claim of {@code remote-node}, one per position so that an address it lists twice is a duplicate, as before)
     * replace the ones it registered before. The caller holds the lock.
     */
    private void reclaim(String name) {
        for (String key : ipKeys.subMap(IP_PREFIX + name + "/", IP_PREFIX + name + "0").keySet()) claim(key);
        NodeInfo n = nodes.get(name);
        List<String> addresses = n == null ? List.of() : n.addresses();
        int before = nodeAddressClaims.getOrDefault(name, 0);
        for (int i = 0; i < Math.max(before, addresses.size()); i++) {
            String a = i < addresses.size() ? addresses.get(i) : null;
            accepted.claim("node-address/" + name + "/" + i, a == null || mine(a) ? null
                    : new RemoteEndpoint(a, ReservedIdentity.REMOTE_NODE.id(), name, "", ""));
        }
        if (addresses.isEmpty()) nodeAddressClaims.remove(name);
        else nodeAddressClaims.put(name, addresses.size());
    }

    /** Queues a call of the listeners unless one is queued already (it will see this change too). */
    private void requestNotify() {
        if (!notifyQueued.compareAndSet(false, true)) return;
        try {
            notifier.execute(() -> {
                // cleared before the version is read: a change after this point queues another call
                notifyQueued.set(false);
                notifyListeners(false);
            });
        } catch (RejectedExecutionException closed) {
            notifyQueued.set(false);
        }
    }

    /** @param listed a full listing was just taken: from now on {@link #synced()} (listeners hear of it once) */
    private void notifyListeners(boolean listed) {
        synchronized (lock) {
            boolean firstListing = listed && !synced;
            if (accepted.version() == notifiedVersion && !firstListing) return;
            notifiedVersion = accepted.version();
            if (firstListing) synced = true;
        }
        listeners.tell(Runnable::run);
    }

    // ------------------------------------------------------------------ RemoteEndpoints

    @Override
    public List<RemoteEndpoint> list() {
        synchronized (lock) {
            return accepted.list();
        }
    }

    @Override
    public RemoteEndpointChanges changesSince(long version) {
        synchronized (lock) {
            return accepted.changesSince(version);
        }
    }

    @Override
    public boolean synced() {
        return synced;
    }

    @Override
    public void addListener(Runnable onChange) {
        listeners.add(onChange);
    }

    @Override
    public void removeListener(Runnable onChange) {
        listeners.remove(onChange);
    }

    /** Other nodes as registered (for node list and status). */
    public List<NodeInfo> nodes() {
        synchronized (lock) {
            return List.copyOf(nodes.values());
        }
    }

    /** The lease a node's registration carries, 0 when unknown. */
    public long nodeLease(String name) {
        synchronized (lock) {
            return nodeLeases.getOrDefault(name, 0L);
        }
    }

    /** How many of a node's addresses are accepted now (its endpoints and its own addresses). */
    public int accepted(String node) {
        return (int) list().stream().filter(r -> r.node().equals(node)).count();
    }

    /** The newest modification revision under the watched prefixes, for the sync lag (deletions do not show). */
    public long storeRevisionOfPrefixes() throws IOException {
        long max = 0;
        for (String p : List.of(NODE_CIDRS_PREFIX, NODE_PREFIX, IP_PREFIX)) {
            for (EtcdClient.KeyValue kv : etcd.getPrefix(p).kvs()) max = Math.max(max, kv.modRevision());
        }
        return max;
    }

    public NodeInfo self() {
        return self;
    }

    public long lastRevision() {
        return lastRevision;
    }

    /** What is wrong, or null. */
    public String problem() {
        synchronized (lock) {
            if (publishError != null) return "publishing: " + publishError;
            if (outsideCidrs > 0) return outsideCidrs + " endpoint address(es) outside this node's CIDRs " + self.cidrs()
                    + " are not published";
        }
        // a watch that broke and was re-opened is healthy again before any new event comes
        EtcdClient.Watch n = nodeWatch;
        EtcdClient.Watch i = ipWatch;
        EtcdClient.Watch c = cidrWatch;
        if (n != null && i != null && c != null && n.open() && i.open() && c.open()) return null;
        return watchError == null ? null : "watch: " + watchError;
    }

    // ------------------------------------------------------------------ publishing

    /** This node's endpoints changed: publish what differs. */
    @Override
    public void endpointsChanged(EndpointSnapshot snapshot) {
        Map<String, String> want = new TreeMap<>();
        int outside = 0;
        for (Endpoint ep : snapshot.endpoints()) {
            if (ep.identity() < ReservedIdentity.FIRST_ALLOCATED || ep.identity() > ReservedIdentity.LAST_ALLOCATED) continue;
            for (String a : ep.addresses()) {
                String ip = a.contains("/") ? a.substring(0, a.indexOf('/')) : a;
                IpPrefix p;
                try {
                    p = IpPrefix.parse(ip);
                } catch (IllegalArgumentException e) {
                    continue;
                }
                if (ownCidrs.stream().noneMatch(c -> c.contains(p))) {
                    outside++;
                    continue;
                }
                ObjectNode v = json.createObjectNode();
                v.put("ip", ip);
                v.put("identity", ep.identity());
                v.put("node", self.name());
                v.put("namespace", ep.namespace());
                v.put("name", ep.name());
                if (!ep.namedPorts().isEmpty()) {
                    // "http=8080/TCP": what NamedPort.parse reads back on the other nodes
                    var ports = v.putArray("ports");
                    ep.namedPorts().forEach(np -> ports.add(np.toString()));
                }
                want.put(IP_PREFIX + self.name() + "/" + ip, v.toString());
            }
        }
        synchronized (lock) {
            desired = want;
            outsideCidrs = outside;
        }
        writer.execute(this::publish);
    }

    /** Writes what differs from what was published; with a new lease, everything again. */
    private void publish() {
        synchronized (lock) {
            long leaseId = lease.id();
            if (leaseId == 0) {
                publishError = "no etcd lease yet";
                return;
            }
            try {
                if (leaseId != publishedLease) {
                    published.clear();
                    registerNode(leaseId);
                    publishedLease = leaseId;
                }
                for (Map.Entry<String, String> e : desired.entrySet()) {
                    if (e.getValue().equals(published.get(e.getKey()))) continue;
                    etcd.put(e.getKey(), e.getValue(), leaseId);
                    published.put(e.getKey(), e.getValue());
                }
                for (String k : List.copyOf(published.keySet())) {
                    if (desired.containsKey(k)) continue;
                    etcd.delete(k);
                    published.remove(k);
                }
                publishError = null;
            } catch (IOException e) {
                publishError = e.getMessage();
                LOG.warning("kvstore: publishing this node's endpoints failed (retrying): " + e.getMessage());
            }
        }
    }

    /** Re-writes this node's keys if the lease changed or a write failed, and re-lists if a watch ended. */
    public void resync() {
        publish();
        synchronized (relistLock) {
            if (!relist) return;
            try {
                listAndWatch();
            } catch (IOException e) {
                watchError = "re-list failed: " + e.getMessage();
            }
        }
    }

    private void closeWatches() {
        if (nodeWatch != null) nodeWatch.close();
        if (ipWatch != null) ipWatch.close();
        if (cidrWatch != null) cidrWatch.close();
        nodeWatch = ipWatch = cidrWatch = null;
    }

    @Override
    public void close() {
        closeWatches();
        notifier.shutdownNow();
    }
}
