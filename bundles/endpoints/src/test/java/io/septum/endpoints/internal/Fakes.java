package io.septum.endpoints.internal;

import io.septum.api.EditableEndpointSource;
import io.septum.api.EndpointSink;
import io.septum.api.EndpointSource;
import io.septum.api.EndpointSpec;
import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.IpcacheEntry;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.NamedPort;
import io.septum.api.ReservedIdentity;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathException;
import io.septum.api.datapath.DatapathStats;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EndpointPolicy;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.Protocol;
import io.septum.testsupport.Await;
import io.septum.testsupport.StubPolicyRepository;
import io.septum.testsupport.StubPolicySet;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** In-memory stand-ins for the services the manager orchestrates; the real ones are tested in their bundles. */
final class Fakes {
    private Fakes() {
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        // etcd fsyncs every write, and the cluster tests wait on leases and watches through it: slow machines too
        await(what, java.time.Duration.ofSeconds(30), condition);
    }

    static void await(String what, java.time.Duration timeout, BooleanSupplier condition) throws InterruptedException {
        Await.until(what, timeout, condition);
    }

    static final class Allocator implements IdentityAllocator {
        final Map<Labels, Identity> byLabels = new HashMap<>();
        final Map<Long, Integer> refs = new HashMap<>();
        long nextCluster = ReservedIdentity.FIRST_ALLOCATED;
        long nextLocal = ReservedIdentity.FIRST_LOCAL;
        volatile CountDownLatch gate;
        /** Allocation of cluster-wide (non-CIDR, non-reserved) label sets fails, as with etcd unreachable. */
        volatile boolean unreachable;
        /** Numbers whose labels {@link #get} does not give (yet), as before the cluster's store answers. */
        final Set<Long> hidden = java.util.concurrent.ConcurrentHashMap.newKeySet();

        @Override
        public Identity allocate(Labels labels) {
            CountDownLatch g = gate;
            if (g != null) {
                try {
                    g.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            synchronized (this) {
                if (labels.size() == 1 && labels.asList().get(0).source().equals(Label.RESERVED)) {
                    var r = ReservedIdentity.byName(labels.asList().get(0).key());
                    if (r.isPresent()) return r.get().identity();
                }
                boolean local = labels.asList().stream().allMatch(l -> l.source().equals(Label.CIDR)
                        || l.toString().equals("reserved:world"));
                if (unreachable && !local) throw new IllegalStateException("etcd unreachable (fake)");
                Identity i = byLabels.computeIfAbsent(labels, l -> new Identity(local ? nextLocal++ : nextCluster++,
                        l.asStrings(), false));
                refs.merge(i.id(), 1, Integer::sum);
                return i;
            }
        }

        @Override
        public synchronized void release(long id) {
            refs.computeIfPresent(id, (k, n) -> n <= 1 ? null : n - 1);
        }

        synchronized int refs(long id) {
            return refs.getOrDefault(id, 0);
        }

        @Override
        public synchronized Optional<Identity> get(long id) {
            if (hidden.contains(id)) return Optional.empty();
            return byLabels.values().stream().filter(i -> i.id() == id).findFirst()
                    .or(() -> ReservedIdentity.byId(id).map(ReservedIdentity::identity));
        }

        @Override
        public synchronized Optional<Identity> lookup(Labels labels) {
            return Optional.ofNullable(byLabels.get(labels));
        }

        @Override
        public synchronized List<Identity> list() {
            return List.copyOf(byLabels.values());
        }
    }

    /** One allow rule: endpoints carrying {@code subject} accept {@code direction} traffic with peers carrying {@code peer}. */
    record Rule(String subject, Direction direction, String peer, int port, int id) {
    }

    static final class Policies implements StubPolicyRepository, StubPolicySet {
        final List<Rule> rules = new CopyOnWriteArrayList<>();
        /** Deny rules, same shape: {@code subject} refuses {@code direction} traffic with peers carrying {@code peer}. */
        final List<Rule> denies = new CopyOnWriteArrayList<>();
        volatile List<String> cidrs = List.of();
        volatile long revision = 1;

        /** The named ports the last resolve of each subject was given: its own, and its peers' by identity. */
        final Map<String, List<NamedPort>> ownPorts = new java.util.concurrent.ConcurrentHashMap<>();
        final Map<String, Map<Long, List<NamedPort>>> peerPorts = new java.util.concurrent.ConcurrentHashMap<>();
        /** How many times an endpoint's policy was resolved (with its named ports, as passes do). */
        final java.util.concurrent.atomic.AtomicInteger resolves = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public EndpointPolicy resolve(Labels subject, List<NamedPort> subjectPorts, Collection<Identity> universe,
                                      Map<Long, List<NamedPort>> peers, EnforcementMode mode) {
            ownPorts.put(subject.toString(), subjectPorts);
            peerPorts.put(subject.toString(), peers);
            resolves.incrementAndGet();
            return resolve(subject, universe, mode);
        }

        @Override
        public EndpointPolicy resolve(Labels subject, Collection<Identity> universe, EnforcementMode mode) {
            boolean in = false, out = false;
            List<PolicyEntry> entries = new ArrayList<>();
            for (Rule r : rules) {
                if (!subject.asStrings().contains(r.subject())) continue;
                if (r.direction() == Direction.INGRESS) in = true;
                else out = true;
                for (Identity i : universe) {
                    if (i.labels().contains(r.peer())) {
                        entries.add(new PolicyEntry(r.direction(), i.id(), Protocol.TCP, r.port(), r.port(),
                                PolicyAction.ALLOW, r.id()));
                    }
                }
            }
            for (Rule r : denies) {
                if (!subject.asStrings().contains(r.subject())) continue;
                for (Identity i : universe) {
                    if (i.labels().contains(r.peer())) {
                        entries.add(new PolicyEntry(r.direction(), i.id(), Protocol.TCP, r.port(), r.port(),
                                PolicyAction.DENY, r.id()));
                    }
                }
            }
            return new EndpointPolicy(in, out, entries);
        }

        @Override
        public List<String> cidrPrefixes() {
            return cidrs;
        }

        @Override
        public long revision() {
            return revision;
        }

        @Override
        public PolicySet current() {
            return this;
        }
    }

    /** A datapath that keeps what it is told, and can be told to fail. */
    static final class FakeDatapath implements Datapath {
        final Map<Long, DatapathEndpoint> endpoints = new TreeMap<>();
        final Map<Long, List<PolicyEntry>> policy = new HashMap<>();
        final List<String> calls = new CopyOnWriteArrayList<>();
        List<IpcacheEntry> ipcache = List.of();
        /** The first policy pushed for each endpoint, and every ipcache pushed, in order. */
        final Map<Long, List<PolicyEntry>> firstPolicy = new HashMap<>();
        final Map<Long, Long> firstPushNanos = new HashMap<>();
        final List<List<IpcacheEntry>> ipcacheSyncs = new CopyOnWriteArrayList<>();
        volatile int failUpserts;
        /** How many of the next removals fail. */
        volatile int failRemoves;
        List<BpfEndpoint> restored = List.of();
        /** The failsafe ports last set; null before any. */
        volatile List<io.septum.api.datapath.FailsafePort> failsafe;

        @Override
        public synchronized void setFailsafePorts(List<io.septum.api.datapath.FailsafePort> ports) {
            calls.add("failsafe " + ports.size());
            failsafe = List.copyOf(ports);
        }

        @Override
        public void syncServices(List<io.septum.api.service.Service> services) {
            calls.add("services");
        }

        @Override
        public List<io.septum.api.service.Service> services() {
            return List.of();
        }

        @Override
        public synchronized void upsertEndpoint(DatapathEndpoint endpoint, List<PolicyEntry> entries) throws DatapathException {
            if (failUpserts > 0) {
                failUpserts--;
                calls.add("upsert-failed " + endpoint.id());
                throw new DatapathException("policy map full (fake)");
            }
            calls.add("upsert " + endpoint.id());
            endpoints.put(endpoint.id(), endpoint);
            policy.put(endpoint.id(), List.copyOf(entries));
            firstPolicy.putIfAbsent(endpoint.id(), List.copyOf(entries));
            firstPushNanos.putIfAbsent(endpoint.id(), System.nanoTime());
        }

        @Override
        public synchronized void removeEndpoint(long endpointId) throws DatapathException {
            if (failRemoves > 0) {
                failRemoves--;
                calls.add("remove-failed " + endpointId);
                throw new DatapathException("map busy (fake)");
            }
            calls.add("remove " + endpointId);
            endpoints.remove(endpointId);
            policy.remove(endpointId);
        }

        @Override
        public synchronized void syncIpcache(List<IpcacheEntry> entries) {
            calls.add("ipcache");
            ipcache = List.copyOf(entries);
            ipcacheSyncs.add(ipcache);
        }

        /** What a restarted agent would find pinned. */
        synchronized List<BpfEndpoint> pinned() {
            List<BpfEndpoint> out = new ArrayList<>();
            for (DatapathEndpoint e : endpoints.values()) {
                out.add(new BpfEndpoint(e.ifindex(), e.id(), e.identity(), 0, e.interfaceName()));
            }
            return out;
        }

        @Override
        public synchronized List<BpfEndpoint> restored() {
            return restored;
        }

        @Override
        public synchronized List<BpfEndpoint> endpoints() {
            return pinned();
        }

        @Override
        public List<BpfPolicyEntry> policy(long endpointId) {
            return List.of();
        }

        @Override
        public synchronized List<IpcacheEntry> ipcache() {
            return ipcache;
        }

        @Override
        public DatapathStats stats() {
            return new DatapathStats(true, 0, 0, 0, "", null);
        }

        synchronized Optional<Long> ipcacheIdentity(String prefix) {
            return ipcache.stream().filter(e -> e.prefix().equals(prefix)).map(IpcacheEntry::identity).findFirst();
        }
    }

    static final class Host implements HostEnv {
        final Map<String, Integer> ifindexes = new HashMap<>();

        @Override
        public synchronized int ifindex(String interfaceName) throws IOException {
            Integer i = ifindexes.get(interfaceName);
            if (i == null) throw new IOException("interface " + interfaceName + " does not exist (fake)");
            return i;
        }

        @Override
        public List<String> hostAddresses() {
            return List.of("192.0.2.1", "fe80::1", "2001:db8::1");
        }
    }

    static class Source implements EndpointSource {
        final String name;
        volatile EndpointSink sink;
        volatile boolean closed;
        final List<EndpointSpec> added = new CopyOnWriteArrayList<>();
        final List<String> deleted = new CopyOnWriteArrayList<>();
        final List<EndpointSpec> initial;

        Source(String name, EndpointSpec... initial) {
            this.name = name;
            this.initial = List.of(initial);
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public void open(EndpointSink sink) {
            initial.forEach(sink::upsert);
            sink.resync(initial.stream().map(EndpointSpec::sourceId).toList());
            // Published last: a test that waits for it must not race the initial resync.
            this.sink = sink;
        }

        @Override
        public void close() {
            closed = true;
        }

    }

    /** A source that also takes the operator's endpoints. */
    static final class EditableSource extends Source implements EditableEndpointSource {
        EditableSource(String name, EndpointSpec... initial) {
            super(name, initial);
        }

        @Override
        public void add(EndpointSpec spec) {
            added.add(spec);
            sink.upsert(spec);
        }

        @Override
        public void delete(String sourceId) {
            deleted.add(sourceId);
            sink.remove(sourceId);
        }
    }

    static EndpointSpec spec(String id, String name, String namespace, Map<String, String> labels, String ifname,
                             String... addresses) {
        return new EndpointSpec(id, name, namespace, labels, ifname, "/var/run/netns/" + name, List.of(addresses),
                null, Map.of("netns", name));
    }
}
