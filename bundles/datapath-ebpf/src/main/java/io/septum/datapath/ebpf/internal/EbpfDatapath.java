package io.septum.datapath.ebpf.internal;

import io.septum.api.IpcacheEntry;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.datapath.DatapathException;
import io.septum.api.datapath.DatapathStats;
import io.septum.api.datapath.RuleHits;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.service.Service;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * The eBPF datapath, usable without OSGi: {@code new EbpfDatapath(pinDir, objectBytes, sink).open()}.
 *
 * <p>Maps are pinned under {@code pinDir} and reused when present, so enforcement state survives the agent.
 * {@link #close()} stops the event reader and closes the object but never detaches programs or unpins maps:
 * the kernel keeps enforcing while no agent runs. All map writes are serialised on this object.
 */
public final class EbpfDatapath implements Datapath, AutoCloseable {
    public static final String OBJECT_RESOURCE = "/io/septum/bpf/septum_lxc.bpf.o";
    public static final String PROG_FROM_EP = "septum_from_ep";
    public static final String PROG_TO_EP = "septum_to_ep";
    public static final String PROG_TO_PROXY = "septum_to_proxy";
    /** The host firewall's programs, on the host's own interfaces (ingress hook: host ingress). */
    public static final String PROG_HOST_IN = "septum_host_in";
    public static final String PROG_HOST_OUT = "septum_host_out";
    /** skb mark of packets handed to the L7 proxy (bpf/src/lib/proxy.h); the routing rule delivers them locally. */
    public static final int PROXY_REDIRECT_MARK = 0x5e970001;
    /** Our tc filters' identity on every clsact hook; other tools' filters keep theirs. */
    public static final int TC_HANDLE = 0x5e97;
    public static final int TC_PRIORITY = 7;
    /** How long one tc rtnetlink request waits for the kernel's answer (it is sent twice at most). */
    static final long TC_TIMEOUT_MILLIS = 3000;
    /** The cgroup_skb programs of cgroup endpoints: a second object sharing the pinned maps (BpfMaps). */
    public static final String CGROUP_OBJECT_RESOURCE = "/io/septum/bpf/septum_cgroup.bpf.o";
    public static final String PROG_CG_INGRESS = "septum_cg_ingress";
    public static final String PROG_CG_EGRESS = "septum_cg_egress";
    /** Subdirectory of the pin directory holding the cgroup endpoints' bpf links, {@code ep<id>-cg<cgroup id>-<dir>}. */
    public static final String LINK_DIR = "cgroup_links";

    private static final Logger LOG = Logger.getLogger(EbpfDatapath.class.getName());
    private static final int ENOENT = 2;

    private final Path pinDir;
    private final byte[] object;
    private final Consumer<DatapathEvent> sink;
    private final Runtime runtime;
    private final LibBpf lib;
    private final LibC libc;
    private final int ncpus;
    private final EventDecoder decoder;

    private final Object lock = new Object();
    private final LibbpfLog log;
    private final TcAttach tc;
    private final CgroupAttach cgroups;
    private final ProxyRouting routing = new ProxyRouting();
    private final LbMaps lb = new LbMaps();
    private final MapCodec codec;
    private BpfObjects objects;
    private BpfMaps maps;
    private PolicyEpoch epoch;
    private volatile boolean loaded;
    private volatile String error;
    /** Why cgroup endpoints cannot be enforced (the cgroup object did not load), or null. */
    private volatile String cgroupError;
    /** cgroup id to the path it was upserted with, for views. */
    private final Map<Long, String> cgroupPaths = new HashMap<>();

    /** Endpoints as last upserted by this agent, by id. */
    private final Map<Long, DatapathEndpoint> endpoints = new HashMap<>();
    /** What the policy map holds per endpoint id (read from the pins at open, then kept in step). */
    private final Map<Long, Map<PolicyCodec.Key, PolicyCodec.Value>> installed = new HashMap<>();
    /** What this datapath last wrote to the ipcache map (guarded by lock). */
    private final IpcacheWriter ipcacheWriter;
    private List<BpfEndpoint> restored = List.of();

    private final AtomicLong received = new AtomicLong();
    private EventReader reader;

    public EbpfDatapath(Path pinDir, byte[] object, Consumer<DatapathEvent> sink) {
        this.pinDir = pinDir;
        this.object = object.clone();
        this.sink = sink;
        this.lib = loadLibrary(LibBpf.class, "bpf", "libbpf.so.1");
        this.libc = loadLibrary(LibC.class, "c", "libc.so.6");
        this.runtime = Runtime.getRuntime(lib);
        this.ipcacheWriter = new IpcacheWriter(runtime);
        this.ncpus = Math.max(1, lib.libbpf_num_possible_cpus());
        this.decoder = new EventDecoder(runtime);
        this.log = new LibbpfLog(lib, libc, runtime);
        this.codec = new MapCodec(runtime);
        this.tc = new TcAttach(new TcNetlink(libc, runtime, TC_TIMEOUT_MILLIS));
        this.cgroups = new CgroupAttach(lib, libc, runtime, pinDir);
    }

    /** Debian's runtime package ships only {@code libbpf.so.1}; {@code libbpf.so} comes with libbpf-dev. */
    private static <T> T loadLibrary(Class<T> type, String... names) {
        UnsatisfiedLinkError last = null;
        for (String name : names) {
            try {
                return LibraryLoader.create(type).failImmediately().load(name);
            } catch (UnsatisfiedLinkError e) {
                last = e;
            }
        }
        throw new UnsatisfiedLinkError("cannot load " + String.join(" or ", names)
                + " (apt-get install libbpf1): " + (last == null ? "" : last.getMessage()));
    }

    /** Reads the object built by the septum-bpf module from the class path. */
    public static byte[] bundledObject() throws IOException {
        try (var in = EbpfDatapath.class.getResourceAsStream(OBJECT_RESOURCE)) {
            if (in == null) throw new IOException("BPF object " + OBJECT_RESOURCE + " missing from the class path: "
                    + "build the bpf module (mvn -f bpf/pom.xml install) before this bundle");
            return in.readAllBytes();
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /** Mounts bpffs if needed, creates the pin directory, opens and loads the object reusing pins, starts the reader. */
    public void open() throws DatapathException {
        synchronized (lock) {
            if (loaded) return;
            try {
                log.install();
                load();
                readState();
                epoch = new PolicyEpoch(maps.epoch, libc, runtime);
                epoch.advance(); // nothing a previous agent's programs recorded stands for a verdict of this one
                reader = new EventReader(lib, maps.events.fd, decoder, this::deliver, "septum-datapath-events");
                reader.start();
                loaded = true;
                error = null;
                LOG.info(() -> "datapath loaded, maps pinned under " + pinDir + ", " + restored.size()
                        + " endpoint(s) found in the pinned maps");
            } catch (DatapathException e) {
                error = e.getMessage();
                closeObject();
                throw e;
            }
        }
    }

    /** The event reader's polls that delivered at least one event (a burst is read in batches: tests). */
    long eventBatches() {
        synchronized (lock) {
            return reader == null ? 0 : reader.batches();
        }
    }

    /** Whether the event reader collects once a millisecond, events streaming, rather than waiting to be woken (tests). */
    boolean eventsStreaming() {
        synchronized (lock) {
            return reader != null && reader.streaming();
        }
    }

    /** Stops reading events and closes the object. Programs stay attached and maps stay pinned. */
    @Override
    public void close() {
        EventReader r;
        synchronized (lock) {
            r = reader;
            reader = null;
        }
        if (r != null) r.stop();
        synchronized (lock) {
            loaded = false;
            closeObject();
        }
    }

    private void closeObject() {
        if (epoch != null) epoch.close();
        epoch = null;
        if (objects != null) objects.close();
        objects = null;
        maps = null;
        ipcacheWriter.forget();
        log.uninstall();
    }

    /** Loads both objects against the pins; a cgroup object that cannot load disables cgroup endpoints only. */
    private void load() throws DatapathException {
        byte[] cgObject = null;
        String cgMissing = null;
        try (var in = EbpfDatapath.class.getResourceAsStream(CGROUP_OBJECT_RESOURCE)) {
            if (in == null) cgMissing = "BPF object " + CGROUP_OBJECT_RESOURCE + " is missing from the class path";
            else cgObject = in.readAllBytes();
        } catch (IOException e) {
            cgMissing = "cannot read " + CGROUP_OBJECT_RESOURCE + ": " + e.getMessage();
        }
        objects = new BpfObjects(lib, libc, runtime, log, pinDir, ncpus);
        objects.load(object, cgObject, cgMissing);
        maps = objects.maps();
        cgroupError = objects.cgroupError();
        if (cgroupError == null) {
            try {
                cgroups.createLinkDir();
            } catch (DatapathException e) {
                cgroupError = e.getMessage();
            }
        }
    }

    /** What a previous agent left: endpoints (for restored()) and each endpoint's policy entries (to diff). */
    private void readState() throws DatapathException {
        List<BpfEndpoint> eps = codec.endpoints(maps, cgroupError == null ? cgroupPaths : null);
        restored = List.copyOf(eps);
        installed.clear();
        for (Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e : codec.readPolicy(maps).entrySet()) {
            installed.computeIfAbsent(e.getKey().epId(), k -> new LinkedHashMap<>()).put(e.getKey(), e.getValue());
        }
    }

    // ------------------------------------------------------------------ events

    private void deliver(DatapathEvent e) {
        received.incrementAndGet();
        try {
            sink.accept(e);
        } catch (RuntimeException ex) {
            LOG.log(Level.WARNING, "datapath event listener failed", ex);
        }
    }

    // ------------------------------------------------------------------ Datapath

    @Override
    public void upsertEndpoint(DatapathEndpoint ep, List<PolicyEntry> entries) throws DatapathException {
        long cgid = ep.isCgroup() ? cgroupId(ep) : 0;
        if (!ep.isCgroup() && ep.ifindex() <= 0) throw new DatapathException("endpoint " + ep.id() + ": ifindex " + ep.ifindex()
                + " is not a valid host interface index");
        if (ep.id() < 0 || ep.id() > 0xffffffffL) throw new DatapathException("endpoint id " + ep.id() + " out of range");
        Map<PolicyCodec.Key, PolicyCodec.Value> desired;
        try {
            desired = PolicyCodec.compile(ep.id(), entries);
        } catch (IllegalArgumentException e) {
            throw new DatapathException("endpoint " + ep.id() + ": invalid policy entry: " + e.getMessage(), e);
        }
        synchronized (lock) {
            requireLoaded();
            changeVerdictMaps(() -> upsertLocked(ep, cgid, desired));
        }
    }

    private void upsertLocked(DatapathEndpoint ep, long cgid, Map<PolicyCodec.Key, PolicyCodec.Value> desired)
            throws DatapathException {
        Map<PolicyCodec.Key, PolicyCodec.Value> current = installed.getOrDefault(ep.id(), Map.of());
        DatapathEndpoint prev = endpoints.get(ep.id());
        if (ep.isCgroup() && cgroupError != null) {
            throw new DatapathException("endpoint " + ep.id() + " (cgroup " + ep.cgroupPath()
                    + ") cannot be enforced: " + cgroupError);
        }
        BpfMap epMap = ep.isCgroup() ? maps.cgroupEndpoints : maps.endpoints;
        byte[] epKey = ep.isCgroup() ? Bytes.u64(cgid) : Bytes.u32(ep.ifindex());
        byte[] oldVal = epMap.lookup(epKey);
        int oldFlags = -1;
        if (oldVal != null) {
            Structs.EndpointValue ov = Structs.from(new Structs.EndpointValue(runtime), oldVal);
            if (ov.ep_id.get() == ep.id()) oldFlags = (int) ov.flags.get();
        }
        int newFlags = MapCodec.flags(ep);
        // never more permissive than old and new: enforcement bits added first, audit (which lets drops pass)
        // and removed enforcement last
        int interim = (oldFlags < 0 ? (newFlags & 3) : ((oldFlags | newFlags) & 3) | (oldFlags & newFlags & 4))
                | (newFlags & BpfEndpoint.FLAG_HOST);
        long added = desired.keySet().stream().filter(k -> !current.containsKey(k)).count();
        maps.policy.checkRoom(installed.values().stream().mapToLong(Map::size).sum(), added,
                "the policy of endpoint " + ep.id());
        MapTransaction undo = new MapTransaction();
        try {
            undo.put(epMap, epKey, codec.endpointValue(ep, interim), oldVal, "endpoint " + ep.id() + " entry");
            List<Map.Entry<PolicyCodec.Key, PolicyCodec.Value>> writes = new ArrayList<>();
            for (Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e : desired.entrySet()) {
                if (!e.getValue().equals(current.get(e.getKey()))) writes.add(e);
            }
            writes.sort(Comparator.comparingInt(e -> e.getValue().action() == PolicyCodec.ACTION_DENY ? 0 : 1));
            for (Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e : writes) {
                PolicyCodec.Value old = current.get(e.getKey());
                undo.put(maps.policy, codec.policyKey(e.getKey()), codec.policyValue(e.getValue()),
                        old == null ? null : codec.policyValue(old), "policy entry of endpoint " + ep.id());
            }
            for (PolicyCodec.Key k : current.keySet()) {
                if (!desired.containsKey(k)) undo.delete(maps.policy, codec.policyKey(k), codec.policyValue(current.get(k)), "stale policy entry of endpoint " + ep.id());
            }
            if (interim != newFlags) undo.put(epMap, epKey, codec.endpointValue(ep, newFlags), codec.endpointValue(ep, interim), "endpoint " + ep.id() + " entry");
        } catch (DatapathException e) {
            undo.rollback();
            throw e;
        }
        installed.put(ep.id(), new LinkedHashMap<>(desired));
        epoch.advance(); // the new verdicts hold from here, not only once the programs below are attached
        if (ep.isCgroup()) {
            if (prev != null && !prev.isCgroup()) detachInterface(prev);
            cgroups.attach(ep, cgid, objects.prog(PROG_CG_INGRESS), objects.prog(PROG_CG_EGRESS));
            cgroupPaths.put(cgid, ep.cgroupPath());
            // the same endpoint on an earlier cgroup (the directory was re-created): its links and entry go last
            detachCgroups(ep.id(), cgid);
            endpoints.put(ep.id(), ep);
            return;
        }
        if (prev != null && prev.isCgroup()) detachCgroups(ep.id(), -1);
        if (prev != null && !prev.isCgroup() && prev.ifindex() != ep.ifindex()) detachInterface(prev);
        if (ep.host()) {
            // the host's own interface: no L7 redirection towards it, no bridge; its ingress is the host's
            tc.attachHost(ep, objects.prog(PROG_HOST_IN), objects.prog(PROG_HOST_OUT));
        } else {
            // the programs first: an address entry that cannot be written (a full septum_lxc) must not leave a
            // new endpoint's policy written but unenforced; without it only redirection towards it is missing
            tc.attachBridge(ep, objects.prog(PROG_TO_PROXY));
            tc.attach(ep, objects.prog(PROG_FROM_EP), objects.prog(PROG_TO_EP));
            LxcEntries.sync(maps, runtime, ep);
        }
        endpoints.put(ep.id(), ep);
    }

    /**
     * Runs a change to maps that a verdict reads (under the lock), then moves the policy epoch on, also after a
     * failure: part of the change may have been written, and each connection must be judged again. A change that
     * wrote nothing moves it on too: each connection then takes one packet's full verdict.
     */
    private void changeVerdictMaps(MapChange change) throws DatapathException {
        try {
            change.run();
        } finally {
            epoch.advance();
        }
    }

    private interface MapChange {
        void run() throws DatapathException;
    }

    /** The loaded maps (null before {@code load}): for the tests that fill them. */
    BpfMaps maps() {
        synchronized (lock) {
            return maps;
        }
    }

    @Override
    public void removeEndpoint(long endpointId) throws DatapathException {
        synchronized (lock) {
            requireLoaded();
            changeVerdictMaps(() -> removeLocked(endpointId));
        }
    }

    private void removeLocked(long endpointId) throws DatapathException {
        DatapathEndpoint ep = endpoints.get(endpointId);
        List<Integer> ifindexes = new ArrayList<>();
        if (ep != null && !ep.isCgroup()) ifindexes.add(ep.ifindex());
        for (int ifindex : codec.ifindexesOf(maps, endpointId)) {
            if (ifindex > 0 && !ifindexes.contains(ifindex)) ifindexes.add(ifindex);
        }
        for (int ifindex : ifindexes) {
            if (ifindex <= 0) continue;
            tc.detach(ifindex);
            maps.endpoints.delete(Bytes.u32(ifindex));
        }
        detachCgroups(endpointId, -1);
        Map<PolicyCodec.Key, PolicyCodec.Value> current = installed.remove(endpointId);
        if (current != null) {
            for (PolicyCodec.Key k : current.keySet()) maps.policy.delete(codec.policyKey(k));
        }
        codec.deleteEntriesOf(maps, endpointId, ifindexes);
        endpoints.remove(endpointId);
    }

    @Override
    public void setProxyPort(int port) throws DatapathException {
        writeProxyConfig("proxy", port, c -> c.port.set(port));
    }

    @Override
    public void setDnsProxyPort(int port) throws DatapathException {
        writeProxyConfig("DNS proxy", port, c -> c.dns_port.set(port));
    }

    /** Writes the new failsafe ports first, then removes the old ones: never fewer open than either set. */
    @Override
    public void setFailsafePorts(List<io.septum.api.datapath.FailsafePort> ports) throws DatapathException {
        Map<Bytes, byte[]> desired = new LinkedHashMap<>();
        for (io.septum.api.datapath.FailsafePort f : ports) {
            Structs.FailsafeKey k = Structs.zeroed(new Structs.FailsafeKey(runtime));
            k.dir.set(f.direction() == io.septum.api.policy.Direction.INGRESS ? 1 : 2); // SEPTUM_DIR_INGRESS, _EGRESS
            k.proto.set(f.protocol().number());
            k.port.set(f.port());
            desired.put(new Bytes(k.bytes()), new byte[] {1});
        }
        synchronized (lock) {
            requireLoaded();
            for (Map.Entry<Bytes, byte[]> e : desired.entrySet()) {
                int rc = maps.failsafe.update(e.getKey().b(), e.getValue(), LibBpf.BPF_ANY);
                if (rc < 0) throw new DatapathException("writing a failsafe port failed: " + errno(-rc));
            }
            for (byte[] k : maps.failsafe.keys()) {
                if (!desired.containsKey(new Bytes(k))) maps.failsafe.delete(k);
            }
        }
    }

    /** Changes one proxy's port in septum_proxy, keeping the other's. */
    private void writeProxyConfig(String which, int port, java.util.function.Consumer<Structs.ProxyConfig> set)
            throws DatapathException {
        if (port < 0 || port > 65535) throw new DatapathException(which + " port " + port + " out of range");
        synchronized (lock) {
            requireLoaded();
            if (port != 0) routing.ensure(); // routing first: a redirected packet must never be forwarded instead
            byte[] old = maps.proxy.lookup(Bytes.u32(0));
            Structs.ProxyConfig c = old == null ? Structs.zeroed(new Structs.ProxyConfig(runtime))
                    : Structs.from(new Structs.ProxyConfig(runtime), old);
            set.accept(c);
            int rc = maps.proxy.update(Bytes.u32(0), c.bytes(), LibBpf.BPF_ANY);
            if (rc < 0) throw new DatapathException("writing the " + which + " port failed: " + errno(-rc));
        }
    }

    /** The proxy port the datapath redirects to, 0 when none. */
    public int proxyPort() {
        synchronized (lock) {
            if (!loaded) return 0;
            byte[] v = maps.proxy.lookup(Bytes.u32(0));
            return v == null ? 0 : Structs.from(new Structs.ProxyConfig(runtime), v).port.get();
        }
    }

    @Override
    public void syncIpcache(List<IpcacheEntry> entries) throws DatapathException {
        synchronized (lock) {
            requireLoaded();
            changeVerdictMaps(() -> ipcacheWriter.sync(maps.ipcache, entries));
        }
    }

    @Override
    public void syncIpcacheChanges(List<IpcacheEntry> entries, List<IpcacheEntry> upserted, List<String> removed)
            throws DatapathException {
        synchronized (lock) {
            requireLoaded();
            changeVerdictMaps(() -> ipcacheWriter.apply(maps.ipcache, entries, upserted, removed));
        }
    }

    @Override
    public void syncServices(List<Service> services) throws DatapathException {
        LbMaps.Desired want = lb.compile(services, runtime);
        synchronized (lock) {
            requireLoaded();
            lb.apply(want, maps, runtime);
        }
    }

    @Override
    public List<Service> services() {
        synchronized (lock) {
            if (!loaded) return List.of();
            return lb.read(maps, runtime);
        }
    }

    @Override
    public List<BpfEndpoint> restored() {
        return restored;
    }

    @Override
    public List<BpfEndpoint> endpoints() {
        synchronized (lock) {
            if (!loaded) return List.of();
            return codec.endpoints(maps, cgroupError == null ? cgroupPaths : null);
        }
    }

    @Override
    public List<BpfPolicyEntry> policy(long endpointId) {
        synchronized (lock) {
            return loaded ? codec.policyOf(maps, endpointId) : List.of();
        }
    }

    @Override
    public List<IpcacheEntry> ipcache() {
        synchronized (lock) {
            return loaded ? codec.ipcache(maps, ipcacheWriter.sources()) : List.of();
        }
    }

    @Override
    public List<RuleHits> ruleHits() {
        synchronized (lock) {
            return loaded ? codec.ruleHits(maps) : List.of();
        }
    }

    @Override
    public DatapathStats stats() {
        long lost = 0;
        synchronized (lock) {
            if (loaded) lost = maps.stats.percpuSum(Bytes.u32(1));
            return new DatapathStats(loaded, tc.count(), received.get(), lost, pinDir.toString(), error);
        }
    }

    /** Whether this open took the programs an earlier one pinned instead of loading the objects (for tests). */
    boolean reusedPrograms() {
        synchronized (lock) {
            return objects != null && objects.reused();
        }
    }

    /** Packets that passed on their connection's conntrack entry alone (STAT_CT_FAST): for tests and benchmarks. */
    long fastPathPackets() {
        synchronized (lock) {
            return loaded ? maps.stats.percpuSum(Bytes.u32(2)) : 0;
        }
    }

    /** Events the BPF side emitted (all CPUs), for tests and benchmarks. */
    public long eventsEmitted() {
        synchronized (lock) {
            return loaded ? maps.stats.percpuSum(Bytes.u32(0)) : 0;
        }
    }

    public Path pinDir() {
        return pinDir;
    }

    public boolean isLoaded() {
        return loaded;
    }

    // ------------------------------------------------------------------ attachments

    /** Whether our filter is attached at that hook (for tests and status). */
    public boolean isAttached(int ifindex, boolean ingress) {
        return tc.isAttached(ifindex, ingress);
    }

    /** Whether the endpoint's links are pinned on its cgroup in both directions (for tests and status). */
    public boolean isCgroupAttached(long epId, String cgroupPath) {
        return cgroups.isAttached(epId, cgroupPath);
    }

    /** Cgroups with our programs attached (pinned ingress links), for status. */
    public int attachedCgroups() {
        return cgroups.count();
    }

    /** Why cgroup endpoints cannot be enforced, or null when they can. */
    public String cgroupError() {
        return cgroupError;
    }

    private static long cgroupId(DatapathEndpoint ep) throws DatapathException {
        return CgroupAttach.cgroupId(ep);
    }

    /** Detaches the endpoint's cgroup links except those on cgroup {@code keep}, and their map entries. */
    private void detachCgroups(long epId, long keep) {
        Set<Long> dropped = cgroups.detach(epId, keep);
        if (cgroupError != null) return;
        for (Map.Entry<Bytes, byte[]> e : maps.cgroupEndpoints.readAll().entrySet()) {
            long cgid = Bytes.u64(e.getKey().b());
            if (cgid == keep) continue;
            if (Structs.from(new Structs.EndpointValue(runtime), e.getValue()).ep_id.get() == epId || dropped.contains(cgid)) {
                maps.cgroupEndpoints.delete(e.getKey().b());
                cgroupPaths.remove(cgid);
            }
        }
    }

    private void detachInterface(DatapathEndpoint prev) {
        tc.detach(prev.ifindex());
        byte[] k = Bytes.u32(prev.ifindex());
        byte[] v = maps.endpoints.lookup(k);
        if (v != null && Structs.from(new Structs.EndpointValue(runtime), v).ep_id.get() == prev.id()) {
            maps.endpoints.delete(k);
        }
    }

    private void requireLoaded() throws DatapathException {
        if (!loaded) throw new DatapathException("the eBPF datapath is not loaded" + (error == null ? "" : ": " + error));
    }

    static String errno(int e) {
        return BpfErrors.errno(e);
    }
}
