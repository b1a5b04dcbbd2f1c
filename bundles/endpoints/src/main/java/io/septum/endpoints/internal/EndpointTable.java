package io.septum.endpoints.internal;

import io.septum.api.Endpoint;
import io.septum.api.EndpointSpec;
import io.septum.api.EndpointState;
import io.septum.api.IdentityAllocator;
import io.septum.api.datapath.BpfEndpoint;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.logging.Logger;

/**
 * The endpoints this node manages, by (source, sourceId) and by endpoint id, with what goes with them: the ids still
 * to remove from the datapath, the pinned ids no endpoint claims, the namespaces' labels, the next id to hand out,
 * and whether endpoints.json is behind. It turns a source's report into an endpoint's state and releases an
 * endpoint's identity when it forgets the endpoint. Not thread-safe: every method is called with the endpoint
 * manager's lock held.
 */
final class EndpointTable {
    private static final Logger LOG = Logger.getLogger(EndpointTable.class.getName());
    /** Endpoints get ids 1 to this; the 256 above are the host firewall's interfaces ({@link HostFirewall}). */
    static final int MAX_ID = 65279;

    private record Key(String source, String sourceId) {
    }

    private final IdentityAllocator identities;
    private final Map<Key, ManagedEndpoint> endpoints = new HashMap<>();
    private final Map<Long, ManagedEndpoint> byId = new TreeMap<>();
    /** Ids of pinned endpoints that no persisted endpoint claims, to remove once the grace period is over. */
    private final Map<Long, Long> orphans = new HashMap<>();
    private final Set<Long> toRemove = new LinkedHashSet<>();
    private final Map<String, Map<String, String>> namespaceLabels = new TreeMap<>();
    /**
     * Endpoints the kernel still enforced for the previous agent: while the start gate is closed they keep that
     * state. Every other endpoint is pushed at once, so that none runs without a program meanwhile.
     */
    private final Set<Long> enforcedAtStart = new HashSet<>();
    private long nextId = 1;
    private boolean dirtyStore;
    /** The manager stopped: nothing changes any more. */
    private boolean closed;

    EndpointTable(IdentityAllocator identities) {
        this.identities = identities;
    }

    /**
     * Takes what a previous agent left: {@code state} from endpoints.json, {@code enforcing} what the pinned maps
     * still enforce (by id; what no persisted endpoint claims is left in it, and becomes an orphan). Returns whether
     * anything waits for its grace period to end at {@code deadline}.
     */
    boolean restore(EndpointStore.State state, Map<Long, BpfEndpoint> enforcing, long deadline) {
        nextId = Math.max(1, Math.min(state.nextId(), MAX_ID));
        state.namespaceLabels().forEach((ns, l) -> namespaceLabels.put(ns, Map.copyOf(l)));
        for (EndpointStore.Stored s : state.endpoints()) {
            // ids above MAX_ID are an older agent's (it handed out up to 65535): kept, the host firewall skips them
            if (s.id() < 1 || s.id() > HostFirewall.LAST_ID || s.source() == null || s.sourceId() == null) continue;
            BpfEndpoint b = enforcing.remove(s.id());
            if (b != null) enforcedAtStart.add(s.id());
            // its identity as the kernel still knows it; the pass checks the allocator agrees
            ManagedEndpoint ep = ManagedEndpoint.restored(s, deadline, b,
                    b == null ? null : identities.get(b.identity()).orElse(null));
            endpoints.put(new Key(s.source(), s.sourceId()), ep);
            byId.put(ep.id, ep);
        }
        for (BpfEndpoint b : enforcing.values()) orphans.put(b.endpointId(), deadline);
        return !byId.isEmpty() || !orphans.isEmpty();
    }

    /** What {@code source} reported as {@code sourceId}, with a new id if it is new; null when no id is left. */
    ManagedEndpoint getOrCreate(String source, String sourceId) {
        Key key = new Key(source, sourceId);
        ManagedEndpoint ep = endpoints.get(key);
        if (ep != null) return ep;
        long id = allocateId();
        if (id < 0) return null;
        ep = new ManagedEndpoint(id, source, sourceId);
        endpoints.put(key, ep);
        byId.put(id, ep);
        return ep;
    }

    ManagedEndpoint get(String source, String sourceId) {
        return endpoints.get(new Key(source, sourceId));
    }

    ManagedEndpoint byId(long id) {
        return byId.get(id);
    }

    boolean contains(ManagedEndpoint ep) {
        return byId.get(ep.id) == ep;
    }

    boolean containsId(long id) {
        return byId.containsKey(id);
    }

    /** The ids from {@code first} up that endpoints, orphans or pending removals hold. */
    Set<Long> idsFrom(long first) {
        Set<Long> out = new HashSet<>();
        for (long id : byId.keySet()) if (id >= first) out.add(id);
        for (long id : orphans.keySet()) if (id >= first) out.add(id);
        for (long id : toRemove) if (id >= first) out.add(id);
        return out;
    }

    /** Every endpoint, by id. */
    Collection<ManagedEndpoint> all() {
        return byId.values();
    }

    int size() {
        return byId.size();
    }

    List<Endpoint> views() {
        List<Endpoint> out = new ArrayList<>(byId.size());
        for (ManagedEndpoint ep : byId.values()) out.add(ep.view());
        return out;
    }

    /** By id, by namespace/name, or by a name no other endpoint has. */
    Optional<ManagedEndpoint> find(String q) {
        if (q.chars().allMatch(Character::isDigit) && q.length() <= 6) {
            ManagedEndpoint ep = byId.get(Long.parseLong(q));
            if (ep != null) return Optional.of(ep);
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
        return matches.size() == 1 ? Optional.of(matches.get(0)) : Optional.empty();
    }

    /** Takes what the source says; {@code clusterName} is cluster mode's (null when standalone). */
    void apply(ManagedEndpoint ep, EndpointSpec spec, String clusterName) {
        LabelRules.Result r = LabelRules.build(ep.source, spec, null, clusterName);
        Map<String, String> nsLabels = r.refusal() == null ? namespaceLabels.get(r.namespace()) : null;
        if (nsLabels != null) r = LabelRules.build(ep.source, spec, nsLabels, clusterName);
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

    /** Sets a namespace's labels (empty: none) and re-applies what its endpoints' sources said. */
    void setNamespaceLabels(String namespace, Map<String, String> labels, String clusterName) {
        if (labels.isEmpty()) namespaceLabels.remove(namespace);
        else namespaceLabels.put(namespace, Map.copyOf(labels));
        for (ManagedEndpoint ep : byId.values()) {
            if (ep.spec != null && namespace.equals(ep.namespace)) apply(ep, ep.spec, clusterName);
        }
        dirtyStore = true;
    }

    Map<String, Map<String, String>> namespaceLabels() {
        return Map.copyOf(namespaceLabels);
    }

    /** A source went away: its endpoints are disconnected until {@code deadline}, then removed. */
    void disconnect(String source, long deadline) {
        for (ManagedEndpoint ep : endpoints.values()) {
            if (!ep.source.equals(source) || ep.state == EndpointState.DISCONNECTED) continue;
            ep.state = EndpointState.DISCONNECTED;
            ep.removeAt = deadline;
            ep.error = "source " + source + " went away; its datapath state is removed at "
                    + Instant.ofEpochMilli(deadline) + " unless it comes back";
            ep.generation++;
        }
    }

    /** Drops what {@code source} has that is not in {@code live}; returns whether anything was. */
    boolean dropAllBut(String source, Set<String> live) {
        boolean changed = false;
        for (ManagedEndpoint ep : List.copyOf(endpoints.values())) {
            if (ep.source.equals(source) && !live.contains(ep.sourceId)) {
                drop(ep);
                changed = true;
            }
        }
        return changed;
    }

    /** Forgets an endpoint now; its datapath state goes in the next pass. */
    void drop(ManagedEndpoint ep) {
        endpoints.remove(new Key(ep.source, ep.sourceId));
        byId.remove(ep.id);
        releaseIdentity(ep);
        // Only what this agent or a previous one pushed has datapath state to remove.
        if (ep.spec != null || ep.restoredPending) toRemove.add(ep.id);
        dirtyStore = true;
    }

    /** Drops the disconnected endpoints whose grace period is over; orphans past theirs join the ids to remove. */
    void expire(long now) {
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
    }

    /** The ids whose datapath state is to be removed. */
    List<Long> toRemove() {
        return List.copyOf(toRemove);
    }

    /** The datapath no longer holds {@code id} (or it was given up on). */
    void removed(long id) {
        toRemove.remove(id);
    }

    void releaseIdentity(ManagedEndpoint ep) {
        if (ep.holdsRef && ep.identity != null) identities.release(ep.identity.id());
        ep.holdsRef = false;
        ep.identity = null;
    }

    boolean enforcedAtStart(long id) {
        return enforcedAtStart.contains(id);
    }

    void markDirty() {
        dirtyStore = true;
    }

    /** What endpoints.json should hold, when it is behind (and it is then taken as written); else null. */
    EndpointStore.State takeDirtyState() {
        if (!dirtyStore) return null;
        dirtyStore = false;
        List<EndpointStore.Stored> out = new ArrayList<>();
        for (ManagedEndpoint ep : byId.values()) out.add(ep.stored());
        out.sort(Comparator.comparingLong(EndpointStore.Stored::id));
        return new EndpointStore.State(1, nextId, out, new TreeMap<>(namespaceLabels));
    }

    boolean closed() {
        return closed;
    }

    void close() {
        closed = true;
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
}
