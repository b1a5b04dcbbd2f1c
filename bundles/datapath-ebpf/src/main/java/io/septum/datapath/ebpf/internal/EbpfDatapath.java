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
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import jnr.ffi.LibraryLoader;
import jnr.ffi.LastError;
import jnr.ffi.Pointer;
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
    public static final List<String> PINNED_MAPS = List.of("septum_ipcache", "septum_endpoints", "septum_policy",
            "septum_policy_stats", "septum_ct", "septum_events", "septum_stats", "septum_lb_services", "septum_lb_slots",
            "septum_lb_backends", "septum_lb_ct", "septum_lb_rnat", "septum_lb_vips", "septum_proxy", "septum_lxc",
            "septum_ifmac");
    /** skb mark of packets handed to the L7 proxy (bpf/src/lib/proxy.h); the routing rule delivers them locally. */
    public static final int PROXY_REDIRECT_MARK = 0x5e970001;
    /** Our tc filters' identity on every clsact hook; other tools' filters keep theirs. */
    public static final int TC_HANDLE = 0x5e97;
    public static final int TC_PRIORITY = 7;
    /** The cgroup_skb programs of cgroup endpoints: a second object sharing the pinned maps above. */
    public static final String CGROUP_OBJECT_RESOURCE = "/io/septum/bpf/septum_cgroup.bpf.o";
    public static final String PROG_CG_INGRESS = "septum_cg_ingress";
    public static final String PROG_CG_EGRESS = "septum_cg_egress";
    public static final String CGROUP_MAP = "septum_cgroup_endpoints";
    /** Subdirectory of the pin directory holding the cgroup endpoints' bpf links, {@code ep<id>-cg<cgroup id>-<dir>}. */
    public static final String LINK_DIR = "cgroup_links";

    private static final Logger LOG = Logger.getLogger(EbpfDatapath.class.getName());
    private static final int ENOENT = 2, EEXIST = 17, ENODEV = 19, EINVAL = 22;

    private final Path pinDir;
    private final byte[] object;
    private final Consumer<DatapathEvent> sink;
    private final Runtime runtime;
    private final LibBpf lib;
    private final LibC libc;
    private final int ncpus;
    private final EventDecoder decoder;

    private final Object lock = new Object();
    private final StringBuilder capture = new StringBuilder();
    private volatile boolean capturing;
    private LibBpf.PrintFn printFn; // strongly referenced while libbpf may call it
    private Pointer printBuf;

    private Pointer objMem;
    private Pointer obj;
    private int fdProxy = -1, fdLxc = -1, fdIfmac = -1, progProxy = -1;
    private final ProxyRouting routing = new ProxyRouting();
    private int fdIpcache = -1, fdEndpoints = -1, fdPolicy = -1, fdPolicyStats = -1, fdCt = -1, fdEvents = -1,
            fdStats = -1, progFrom = -1, progTo = -1;
    private final LbMaps lb = new LbMaps();
    private volatile boolean loaded;
    private volatile String error;

    private Pointer cgObjMem;
    private Pointer cgObj;
    private int fdCgEndpoints = -1, progCgIngress = -1, progCgEgress = -1;
    /** Why cgroup endpoints cannot be enforced (the cgroup object did not load), or null. */
    private volatile String cgroupError;
    /** cgroup id to the path it was upserted with, for views. */
    private final Map<Long, String> cgroupPaths = new HashMap<>();

    /** Endpoints as last upserted by this agent, by id. */
    private final Map<Long, DatapathEndpoint> endpoints = new HashMap<>();
    /** What the policy map holds per endpoint id (read from the pins at open, then kept in step). */
    private final Map<Long, Map<PolicyCodec.Key, PolicyCodec.Value>> installed = new HashMap<>();
    private final Set<Integer> attached = new HashSet<>();
    private final Map<String, String> ipcacheSources = new HashMap<>();
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
        this.ncpus = Math.max(1, lib.libbpf_num_possible_cpus());
        this.decoder = new EventDecoder(runtime);
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
                ensureBpffs();
                createPinDir();
                installPrint();
                load();
                readState();
                reader = new EventReader(lib, fdEvents, decoder, this::deliver, "septum-datapath-events");
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
        if (cgObj != null) {
            lib.bpf_object__close(cgObj);
            cgObj = null;
        }
        cgObjMem = null;
        fdCgEndpoints = progCgIngress = progCgEgress = -1;
        if (obj != null) {
            lib.bpf_object__close(obj);
            obj = null;
        }
        objMem = null;
        if (printFn != null) {
            lib.libbpf_set_print(null);
            printFn = null;
        }
    }

    private void ensureBpffs() throws DatapathException {
        Path bpffs = Path.of("/sys/fs/bpf");
        if (!pinDir.startsWith(bpffs)) return;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
                String[] f = line.split(" ");
                if (f.length > 2 && f[1].equals("/sys/fs/bpf") && f[2].equals("bpf")) return;
            }
        } catch (IOException e) {
            throw new DatapathException("cannot read /proc/self/mounts to check for bpffs: " + e.getMessage(), e);
        }
        int rc = libc.mount("bpf", "/sys/fs/bpf", "bpf", 0, null);
        if (rc != 0) {
            throw new DatapathException("bpffs is not mounted at /sys/fs/bpf and mounting it failed ("
                    + errno(LastError.getLastError(runtime)) + "): run 'mount -t bpf bpf /sys/fs/bpf' as root");
        }
        LOG.info("mounted bpffs at /sys/fs/bpf");
    }

    private void createPinDir() throws DatapathException {
        try {
            Files.createDirectories(pinDir);
            // pins are protected only by their directory: anyone who can open them can rewrite policy
            Files.setPosixFilePermissions(pinDir, PosixFilePermissions.fromString("rwx------"));
        } catch (IOException | UnsupportedOperationException e) {
            throw new DatapathException("cannot create the BPF pin directory " + pinDir + ": " + e
                    + " (is bpffs mounted at /sys/fs/bpf, and are we root?)", e);
        }
    }

    private void load() throws DatapathException {
        objMem = runtime.getMemoryManager().allocateDirect(object.length, false);
        objMem.put(0, object, 0, object.length);
        startCapture();
        obj = lib.bpf_object__open_mem(objMem, object.length, null);
        if (obj == null) {
            throw new DatapathException("libbpf could not open the BPF object (" + errno(LastError.getLastError(runtime))
                    + ")" + capturedTail());
        }
        for (String name : PINNED_MAPS) {
            Pointer map = lib.bpf_object__find_map_by_name(obj, name);
            if (map == null) throw new DatapathException("BPF object has no map " + name + ": object and agent do not match");
            int rc = lib.bpf_map__set_pin_path(map, pinDir.resolve(name).toString());
            if (rc < 0) throw new DatapathException("cannot set pin path of " + name + ": " + errno(-rc));
        }
        int rc = lib.bpf_object__load(obj);
        if (rc < 0) {
            throw new DatapathException("loading the BPF object failed (" + errno(-rc) + "); a pinned map under "
                    + pinDir + " that no longer matches its definition must be removed by hand"
                    + capturedTail());
        }
        stopCapture();
        fdIpcache = mapFd("septum_ipcache");
        fdEndpoints = mapFd("septum_endpoints");
        fdPolicy = mapFd("septum_policy");
        fdPolicyStats = mapFd("septum_policy_stats");
        fdCt = mapFd("septum_ct");
        fdEvents = mapFd("septum_events");
        fdStats = mapFd("septum_stats");
        lb.fdServices = mapFd("septum_lb_services");
        lb.fdSlots = mapFd("septum_lb_slots");
        lb.fdBackends = mapFd("septum_lb_backends");
        lb.fdCt = mapFd("septum_lb_ct");
        lb.fdRnat = mapFd("septum_lb_rnat");
        lb.fdVips = mapFd("septum_lb_vips");
        fdProxy = mapFd("septum_proxy");
        fdLxc = mapFd("septum_lxc");
        fdIfmac = mapFd("septum_ifmac");
        progFrom = progFd(PROG_FROM_EP);
        progTo = progFd(PROG_TO_EP);
        progProxy = progFd(PROG_TO_PROXY);
        loadCgroupObject();
    }

    /**
     * Loads the cgroup_skb object against the same pins. A failure (no object, a kernel without cgroup_skb) only
     * disables cgroup endpoints: interface endpoints go on, and a cgroup endpoint's upsert says why it cannot be.
     */
    private void loadCgroupObject() {
        byte[] bytes;
        try (var in = EbpfDatapath.class.getResourceAsStream(CGROUP_OBJECT_RESOURCE)) {
            if (in == null) {
                cgroupError = "BPF object " + CGROUP_OBJECT_RESOURCE + " is missing from the class path";
                return;
            }
            bytes = in.readAllBytes();
        } catch (IOException e) {
            cgroupError = "cannot read " + CGROUP_OBJECT_RESOURCE + ": " + e.getMessage();
            return;
        }
        cgObjMem = runtime.getMemoryManager().allocateDirect(bytes.length, false);
        cgObjMem.put(0, bytes, 0, bytes.length);
        startCapture();
        try {
            cgObj = lib.bpf_object__open_mem(cgObjMem, bytes.length, null);
            if (cgObj == null) throw new DatapathException("libbpf could not open the cgroup BPF object ("
                    + errno(LastError.getLastError(runtime)) + ")" + capturedTail());
            List<String> maps = new ArrayList<>(PINNED_MAPS);
            maps.add(CGROUP_MAP);
            for (String name : maps) {
                Pointer map = lib.bpf_object__find_map_by_name(cgObj, name);
                if (map == null) continue; // a map of the tc object only (load balancer, proxy): not shared
                int rc = lib.bpf_map__set_pin_path(map, pinDir.resolve(name).toString());
                if (rc < 0) throw new DatapathException("cannot set pin path of " + name + ": " + errno(-rc));
            }
            int rc = lib.bpf_object__load(cgObj);
            if (rc < 0) throw new DatapathException("loading the cgroup BPF object failed (" + errno(-rc) + ")" + capturedTail());
            stopCapture();
            fdCgEndpoints = lib.bpf_map__fd(lib.bpf_object__find_map_by_name(cgObj, CGROUP_MAP));
            progCgIngress = lib.bpf_program__fd(lib.bpf_object__find_program_by_name(cgObj, PROG_CG_INGRESS));
            progCgEgress = lib.bpf_program__fd(lib.bpf_object__find_program_by_name(cgObj, PROG_CG_EGRESS));
            if (fdCgEndpoints < 0 || progCgIngress < 0 || progCgEgress < 0) {
                throw new DatapathException("the cgroup BPF object lacks " + CGROUP_MAP + ", " + PROG_CG_INGRESS
                        + " or " + PROG_CG_EGRESS + " after load");
            }
            Files.createDirectories(pinDir.resolve(LINK_DIR));
            cgroupError = null;
        } catch (DatapathException | IOException e) {
            stopCapture();
            cgroupError = e.getMessage();
            LOG.warning("cgroup endpoints are disabled: " + e.getMessage());
            if (cgObj != null) lib.bpf_object__close(cgObj);
            cgObj = null;
            fdCgEndpoints = progCgIngress = progCgEgress = -1;
        }
    }

    private int mapFd(String name) throws DatapathException {
        int fd = lib.bpf_map__fd(lib.bpf_object__find_map_by_name(obj, name));
        if (fd < 0) throw new DatapathException("map " + name + " has no fd after load: " + errno(-fd));
        return fd;
    }

    private int progFd(String name) throws DatapathException {
        Pointer p = lib.bpf_object__find_program_by_name(obj, name);
        if (p == null) throw new DatapathException("BPF object has no program " + name);
        int fd = lib.bpf_program__fd(p);
        if (fd < 0) throw new DatapathException("program " + name + " has no fd after load: " + errno(-fd));
        return fd;
    }

    /** What a previous agent left: endpoints (for restored()) and each endpoint's policy entries (to diff). */
    private void readState() throws DatapathException {
        List<BpfEndpoint> eps = readEndpoints();
        restored = List.copyOf(eps);
        installed.clear();
        for (Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e : readPolicy().entrySet()) {
            installed.computeIfAbsent(e.getKey().epId(), k -> new LinkedHashMap<>()).put(e.getKey(), e.getValue());
        }
    }

    // ------------------------------------------------------------------ libbpf logging

    private void installPrint() {
        printBuf = runtime.getMemoryManager().allocateDirect(64 * 1024, true);
        printFn = (level, fmt, args) -> {
            // level 2 (debug) is very chatty and only useful when debugging libbpf itself
            if (level >= 2 && !LOG.isLoggable(Level.FINEST)) return 0;
            synchronized (printBuf) {
                int n = libc.vsnprintf(printBuf, 64 * 1024, fmt, args);
                if (n < 0) return 0;
                String msg = printBuf.getString(0).stripTrailing();
                Level l = level == 0 ? Level.WARNING : level == 1 ? Level.FINE : Level.FINEST;
                // expected answers: clsact already there (EEXIST), our filter not there (detach/query)
                if (msg.contains("Exclusivity flag on") || msg.contains("Cannot find specified filter chain")) l = Level.FINE;
                LOG.log(l, "libbpf: {0}", msg);
                if (capturing && level <= 1) {
                    synchronized (capture) {
                        capture.append(msg).append('\n');
                    }
                }
            }
            return 0;
        };
        lib.libbpf_set_print(printFn);
    }

    private void startCapture() {
        synchronized (capture) {
            capture.setLength(0);
        }
        capturing = true;
    }

    private void stopCapture() {
        capturing = false;
    }

    /** The end of libbpf's log (where the verifier names the bad instruction), for exception messages. */
    private String capturedTail() {
        stopCapture();
        synchronized (capture) {
            if (capture.length() == 0) return "";
            String s = capture.toString();
            return "\nlibbpf log (tail):\n" + (s.length() > 4000 ? "..." + s.substring(s.length() - 4000) : s);
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
            Map<PolicyCodec.Key, PolicyCodec.Value> current = installed.getOrDefault(ep.id(), Map.of());
            DatapathEndpoint prev = endpoints.get(ep.id());
            if (ep.isCgroup() && fdCgEndpoints < 0) {
                throw new DatapathException("endpoint " + ep.id() + " (cgroup " + ep.cgroupPath()
                        + ") cannot be enforced: " + cgroupError);
            }
            int fdEps = ep.isCgroup() ? fdCgEndpoints : fdEndpoints;
            byte[] epKey = ep.isCgroup() ? u64(cgid) : u32(ep.ifindex());
            byte[] oldVal = lookup(fdEps, epKey, 12);
            int oldFlags = -1;
            if (oldVal != null) {
                Structs.EndpointValue ov = Structs.from(new Structs.EndpointValue(runtime), oldVal);
                if (ov.ep_id.get() == ep.id()) oldFlags = (int) ov.flags.get();
            }
            int newFlags = flags(ep);
            // never more permissive than old and new: enforcement bits added first, audit (which lets drops pass)
            // and removed enforcement last
            int interim = oldFlags < 0 ? (newFlags & 3) : ((oldFlags | newFlags) & 3) | (oldFlags & newFlags & 4);
            Undo undo = new Undo();
            try {
                undo.put(fdEps, epKey, endpointValue(ep, interim), oldVal, "endpoint " + ep.id() + " entry");
                List<Map.Entry<PolicyCodec.Key, PolicyCodec.Value>> writes = new ArrayList<>();
                for (Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e : desired.entrySet()) {
                    if (!e.getValue().equals(current.get(e.getKey()))) writes.add(e);
                }
                writes.sort(Comparator.comparingInt(e -> e.getValue().action() == PolicyCodec.ACTION_DENY ? 0 : 1));
                for (Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e : writes) {
                    PolicyCodec.Value old = current.get(e.getKey());
                    undo.put(fdPolicy, policyKey(e.getKey()), policyValue(e.getValue()),
                            old == null ? null : policyValue(old), "policy entry of endpoint " + ep.id());
                }
                for (PolicyCodec.Key k : current.keySet()) {
                    if (!desired.containsKey(k)) undo.delete(fdPolicy, policyKey(k), policyValue(current.get(k)), "stale policy entry of endpoint " + ep.id());
                }
                if (interim != newFlags) undo.put(fdEps, epKey, endpointValue(ep, newFlags), endpointValue(ep, interim), "endpoint " + ep.id() + " entry");
            } catch (DatapathException e) {
                undo.rollback();
                throw e;
            }
            installed.put(ep.id(), new LinkedHashMap<>(desired));
            if (ep.isCgroup()) {
                if (prev != null && !prev.isCgroup()) detachInterface(prev);
                attachCgroup(ep, cgid);
                endpoints.put(ep.id(), ep);
                return;
            }
            if (prev != null && prev.isCgroup()) detachCgroups(ep.id(), -1);
            if (prev != null && !prev.isCgroup() && prev.ifindex() != ep.ifindex()) {
                detach(prev.ifindex());
                byte[] k = u32(prev.ifindex());
                byte[] v = lookup(fdEndpoints, k, 12);
                if (v != null && Structs.from(new Structs.EndpointValue(runtime), v).ep_id.get() == ep.id()) {
                    lib.bpf_map_delete_elem(fdEndpoints, k);
                }
            }
            syncLxc(ep);
            attachBridge(ep);
            attach(ep.ifindex(), ep);
            endpoints.put(ep.id(), ep);
        }
    }

    @Override
    public void removeEndpoint(long endpointId) throws DatapathException {
        synchronized (lock) {
            requireLoaded();
            DatapathEndpoint ep = endpoints.get(endpointId);
            List<Integer> ifindexes = new ArrayList<>();
            if (ep != null && !ep.isCgroup()) ifindexes.add(ep.ifindex());
            for (BpfEndpoint b : readEndpoints()) {
                if (b.endpointId() == endpointId && b.ifindex() > 0 && !ifindexes.contains(b.ifindex())) ifindexes.add(b.ifindex());
            }
            for (int ifindex : ifindexes) {
                if (ifindex <= 0) continue;
                detach(ifindex);
                lib.bpf_map_delete_elem(fdEndpoints, u32(ifindex));
            }
            detachCgroups(endpointId, -1);
            Map<PolicyCodec.Key, PolicyCodec.Value> current = installed.remove(endpointId);
            if (current != null) {
                for (PolicyCodec.Key k : current.keySet()) lib.bpf_map_delete_elem(fdPolicy, policyKey(k));
            }
            Structs.PolicyStatsKey sk = Structs.zeroed(new Structs.PolicyStatsKey(runtime));
            for (byte[] k : keys(fdPolicyStats, sk.size())) {
                if (Structs.from(new Structs.PolicyStatsKey(runtime), k).ep_id.get() == endpointId) lib.bpf_map_delete_elem(fdPolicyStats, k);
            }
            Structs.CtKey ck = Structs.zeroed(new Structs.CtKey(runtime));
            int epOff = (int) ck.ep_id.offset();
            for (byte[] k : keys(fdCt, ck.size())) {
                long id = (k[epOff] & 0xffL) | (k[epOff + 1] & 0xffL) << 8 | (k[epOff + 2] & 0xffL) << 16 | (k[epOff + 3] & 0xffL) << 24;
                if (id == endpointId) lib.bpf_map_delete_elem(fdCt, k);
            }
            for (int ifindex : ifindexes) lib.bpf_map_delete_elem(fdIfmac, u32(ifindex));
            for (Map.Entry<Bytes, byte[]> e : readAll(fdLxc, 16, 8).entrySet()) {
                if (Structs.from(new Structs.LxcValue(runtime), e.getValue()).ep_id.get() == endpointId) {
                    lib.bpf_map_delete_elem(fdLxc, e.getKey().b());
                }
            }
            endpoints.remove(endpointId);
        }
    }

    /** Makes the endpoint's addresses (and only those) point to it in septum_lxc, and records its interface's MAC. */
    private void syncLxc(DatapathEndpoint ep) throws DatapathException {
        byte[] mac = interfaceMac(ep);
        if (mac != null) {
            byte[] v = new byte[8];
            System.arraycopy(mac, 0, v, 0, 6);
            int rc = lib.bpf_map_update_elem(fdIfmac, u32(ep.ifindex()), v, LibBpf.BPF_ANY);
            if (rc < 0) throw new DatapathException("writing the interface address of endpoint " + ep.id() + " failed: " + errno(-rc));
        }
        Map<Bytes, byte[]> desired = new LinkedHashMap<>();
        for (String a : ep.addresses()) {
            Ips.Prefix p;
            try {
                p = Ips.parsePrefix(a.contains("/") ? a.substring(0, a.indexOf('/')) : a);
            } catch (IllegalArgumentException ex) {
                throw new DatapathException("endpoint " + ep.id() + ": address " + a + ": " + ex.getMessage(), ex);
            }
            Structs.LxcValue v = Structs.zeroed(new Structs.LxcValue(runtime));
            v.ep_id.set(ep.id());
            v.ifindex.set(ep.ifindex());
            desired.put(new Bytes(p.addr().clone()), v.bytes());
        }
        for (Map.Entry<Bytes, byte[]> e : readAll(fdLxc, 16, 8).entrySet()) {
            boolean mine = Structs.from(new Structs.LxcValue(runtime), e.getValue()).ep_id.get() == ep.id();
            if (mine && !desired.containsKey(e.getKey())) lib.bpf_map_delete_elem(fdLxc, e.getKey().b());
        }
        for (Map.Entry<Bytes, byte[]> e : desired.entrySet()) {
            int rc = lib.bpf_map_update_elem(fdLxc, e.getKey().b(), e.getValue(), LibBpf.BPF_ANY);
            if (rc < 0) throw new DatapathException("writing the address entry of endpoint " + ep.id() + " failed: " + errno(-rc));
        }
    }

    /** The MAC that makes the host's stack take a frame from this interface (its bridge's, else its own); null when it cannot be read (redirection then fails closed). */
    private static byte[] interfaceMac(DatapathEndpoint ep) {
        for (String name : new String[] {ep.interfaceName(), ifname(ep.ifindex())}) {
            if (name == null || name.isEmpty()) continue;
            try {
                // a bridge port: the bridge's own address, which the bridge hands to the host stack as PACKET_HOST
                Path master = Path.of("/sys/class/net", name, "master");
                Path dev = java.nio.file.Files.exists(master) ? master.toRealPath() : Path.of("/sys/class/net", name);
                String text = java.nio.file.Files.readString(dev.resolve("address")).trim();
                String[] parts = text.split(":");
                if (parts.length != 6) continue;
                byte[] mac = new byte[6];
                for (int i = 0; i < 6; i++) mac[i] = (byte) Integer.parseInt(parts[i], 16);
                return mac;
            } catch (java.io.IOException | RuntimeException e) {
                // try the next name
            }
        }
        return null;
    }

    @Override
    public void setProxyPort(int port) throws DatapathException {
        if (port < 0 || port > 65535) throw new DatapathException("proxy port " + port + " out of range");
        synchronized (lock) {
            requireLoaded();
            if (port != 0) routing.ensure(); // routing first: a redirected packet must never be forwarded instead
            Structs.ProxyConfig c = Structs.zeroed(new Structs.ProxyConfig(runtime));
            c.port.set(port);
            int rc = lib.bpf_map_update_elem(fdProxy, u32(0), c.bytes(), LibBpf.BPF_ANY);
            if (rc < 0) throw new DatapathException("writing the proxy port failed: " + errno(-rc));
        }
    }

    /** The proxy port the datapath redirects to, 0 when none. */
    public int proxyPort() {
        synchronized (lock) {
            if (!loaded) return 0;
            byte[] v = lookup(fdProxy, u32(0), 8);
            return v == null ? 0 : (v[0] & 0xff) | (v[1] & 0xff) << 8;
        }
    }

    @Override
    public void syncIpcache(List<IpcacheEntry> entries) throws DatapathException {
        Map<Bytes, byte[]> desired = new LinkedHashMap<>();
        Map<String, String> sources = new HashMap<>();
        for (IpcacheEntry e : entries) {
            Ips.Prefix p;
            try {
                p = Ips.parsePrefix(e.prefix());
            } catch (IllegalArgumentException ex) {
                throw new DatapathException("ipcache entry " + e + ": " + ex.getMessage(), ex);
            }
            Structs.IpcacheKey k = Structs.zeroed(new Structs.IpcacheKey(runtime));
            k.prefixlen.set(p.prefixlen());
            for (int i = 0; i < 16; i++) k.addr[i].set(p.addr()[i] & 0xff);
            Structs.IpcacheValue v = Structs.zeroed(new Structs.IpcacheValue(runtime));
            v.identity.set(e.identity());
            desired.put(new Bytes(k.bytes()), v.bytes());
            sources.put(Ips.formatPrefix(p.addr(), p.prefixlen()), e.source());
        }
        synchronized (lock) {
            requireLoaded();
            Map<Bytes, byte[]> current = readAll(fdIpcache, 20, 8);
            Undo undo = new Undo();
            try {
                for (Map.Entry<Bytes, byte[]> e : desired.entrySet()) {
                    byte[] cur = current.get(e.getKey());
                    if (cur == null || !Arrays.equals(cur, e.getValue())) {
                        undo.put(fdIpcache, e.getKey().b(), e.getValue(), cur, "ipcache entry");
                    }
                }
                for (Bytes k : current.keySet()) {
                    if (!desired.containsKey(k)) undo.delete(fdIpcache, k.b(), current.get(k), "stale ipcache entry");
                }
            } catch (DatapathException e) {
                undo.rollback();
                throw e;
            }
            ipcacheSources.clear();
            ipcacheSources.putAll(sources);
        }
    }

    @Override
    public void syncServices(List<Service> services) throws DatapathException {
        LbMaps.Desired want = lb.compile(services, runtime);
        synchronized (lock) {
            requireLoaded();
            lb.apply(want, this, runtime);
        }
    }

    @Override
    public List<Service> services() {
        synchronized (lock) {
            if (!loaded) return List.of();
            return lb.read(this, runtime);
        }
    }

    // package access for LbMaps: the same map calls and rollback as the rest of the datapath
    Map<Bytes, byte[]> readAllOf(int fd, int keySize, int valueSize) {
        return readAll(fd, keySize, valueSize);
    }

    byte[] lookupOf(int fd, byte[] key, int valueSize) {
        return lookup(fd, key, valueSize);
    }

    Undo newUndo() {
        return new Undo();
    }

    @Override
    public List<BpfEndpoint> restored() {
        return restored;
    }

    @Override
    public List<BpfEndpoint> endpoints() {
        synchronized (lock) {
            if (!loaded) return List.of();
            return readEndpoints();
        }
    }

    @Override
    public List<BpfPolicyEntry> policy(long endpointId) {
        synchronized (lock) {
            if (!loaded) return List.of();
            Map<String, Long> packets = readPolicyPackets(endpointId);
            List<BpfPolicyEntry> out = new ArrayList<>();
            List<Map.Entry<PolicyCodec.Key, PolicyCodec.Value>> mine = new ArrayList<>();
            for (Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e : readPolicy().entrySet()) {
                if (e.getKey().epId() == endpointId) mine.add(e);
            }
            mine.sort(Comparator.comparingInt((Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e) -> e.getKey().dir())
                    .thenComparingLong(e -> e.getKey().identity())
                    .thenComparingInt(e -> e.getKey().proto())
                    .thenComparingInt(e -> e.getKey().port()));
            for (Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e : mine) {
                PolicyCodec.Key k = e.getKey();
                PolicyCodec.Value v = e.getValue();
                String proto = k.prefixlen() == PolicyCodec.PREFIX_ANY_PROTO ? "ANY" : EventDecoder.protocolName(k.proto());
                String ports;
                if (k.prefixlen() <= PolicyCodec.PREFIX_PROTO) ports = "*";
                else {
                    int[] r = k.portRange();
                    ports = r[0] == r[1] ? Integer.toString(r[0]) : r[0] + "-" + r[1];
                }
                String action = v.action() == PolicyCodec.ACTION_ALLOW ? "ALLOW"
                        : v.action() == PolicyCodec.ACTION_DENY ? "DENY" : "REDIRECT";
                if (v.audit()) action = v.action() == PolicyCodec.ACTION_ALLOW ? "AUDIT-DEFAULT" : action + " (audit)";
                String dir = k.dir() == PolicyCodec.DIR_INGRESS ? "INGRESS" : "EGRESS";
                out.add(new BpfPolicyEntry(dir, k.identity(), proto, ports, action, v.ruleId(),
                        packets.getOrDefault(k.dir() + "/" + v.ruleId(), 0L)));
            }
            return out;
        }
    }

    @Override
    public List<IpcacheEntry> ipcache() {
        synchronized (lock) {
            if (!loaded) return List.of();
            List<IpcacheEntry> out = new ArrayList<>();
            for (Map.Entry<Bytes, byte[]> e : readAll(fdIpcache, 20, 8).entrySet()) {
                Structs.IpcacheKey k = Structs.from(new Structs.IpcacheKey(runtime), e.getKey().b());
                byte[] addr = new byte[16];
                for (int i = 0; i < 16; i++) addr[i] = (byte) k.addr[i].get();
                String prefix = Ips.formatPrefix(addr, (int) k.prefixlen.get());
                long id = Structs.from(new Structs.IpcacheValue(runtime), e.getValue()).identity.get();
                out.add(new IpcacheEntry(prefix, id, ipcacheSources.getOrDefault(prefix, "restored")));
            }
            out.sort(Comparator.comparing(IpcacheEntry::prefix));
            return out;
        }
    }

    @Override
    public DatapathStats stats() {
        long lost = 0;
        synchronized (lock) {
            if (loaded) lost = percpuSum(fdStats, u32(1));
            return new DatapathStats(loaded, attached.size(), received.get(), lost, pinDir.toString(), error);
        }
    }

    /** Events the BPF side emitted (all CPUs), for tests and benchmarks. */
    public long eventsEmitted() {
        synchronized (lock) {
            return loaded ? percpuSum(fdStats, u32(0)) : 0;
        }
    }

    public Path pinDir() {
        return pinDir;
    }

    public boolean isLoaded() {
        return loaded;
    }

    // ------------------------------------------------------------------ tc

    private void attach(int ifindex, DatapathEndpoint ep) throws DatapathException {
        // ingress of the host-side veth carries what the endpoint sends (its egress), and vice versa
        attachOne(ifindex, LibBpf.BPF_TC_INGRESS, progFrom, ep);
        attachOne(ifindex, LibBpf.BPF_TC_EGRESS, progTo, ep);
        attached.add(ifindex);
    }

    private void attachOne(int ifindex, int point, int progFd, DatapathEndpoint ep) throws DatapathException {
        Structs.TcHook hook = hook(ifindex, point);
        int rc = lib.bpf_tc_hook_create(jnr.ffi.Struct.getMemory(hook));
        if (rc < 0 && rc != -EEXIST) {
            throw new DatapathException("cannot create the clsact qdisc on " + ep.interfaceName() + " (ifindex "
                    + ifindex + ") for endpoint " + ep.id() + ": " + errno(-rc)
                    + (rc == -ENODEV ? " (the interface does not exist in the agent's network namespace)" : ""));
        }
        Structs.TcOpts opts = opts(progFd, LibBpf.BPF_TC_F_REPLACE);
        rc = lib.bpf_tc_attach(jnr.ffi.Struct.getMemory(hook), jnr.ffi.Struct.getMemory(opts));
        if (rc < 0) {
            throw new DatapathException("cannot attach " + (point == LibBpf.BPF_TC_INGRESS ? PROG_FROM_EP : PROG_TO_EP)
                    + " to " + ep.interfaceName() + " (ifindex " + ifindex + ") for endpoint " + ep.id() + ": " + errno(-rc));
        }
    }

    /**
     * A bridge port's frames for the L7 proxy reach the host stack through the bridge, which drops the socket
     * septum_from_ep assigned: septum_to_proxy on the bridge's ingress assigns it again. Only marked frames are
     * touched there. Left attached when the endpoint goes (the bridge may carry others; it goes with the bridge).
     */
    private void attachBridge(DatapathEndpoint ep) throws DatapathException {
        String name = ep.interfaceName() == null || ep.interfaceName().isEmpty() ? ifname(ep.ifindex()) : ep.interfaceName();
        Path master = Path.of("/sys/class/net", name, "master");
        if (!java.nio.file.Files.exists(master)) return;
        int ifindex;
        try {
            ifindex = Integer.parseInt(java.nio.file.Files.readString(master.toRealPath().resolve("ifindex")).trim());
        } catch (java.io.IOException | NumberFormatException e) {
            throw new DatapathException("endpoint " + ep.id() + ": cannot read the bridge of " + name + ": " + e.getMessage(), e);
        }
        Structs.TcHook hook = hook(ifindex, LibBpf.BPF_TC_INGRESS);
        int rc = lib.bpf_tc_hook_create(jnr.ffi.Struct.getMemory(hook));
        if (rc < 0 && rc != -EEXIST) {
            throw new DatapathException("cannot create the clsact qdisc on the bridge of " + name + ": " + errno(-rc));
        }
        rc = lib.bpf_tc_attach(jnr.ffi.Struct.getMemory(hook), jnr.ffi.Struct.getMemory(opts(progProxy, LibBpf.BPF_TC_F_REPLACE)));
        if (rc < 0) throw new DatapathException("cannot attach " + PROG_TO_PROXY + " to the bridge of " + name + ": " + errno(-rc));
    }

    /** Removes only our filters (handle and priority): destroying the hook would kill other tools' filters. */
    private void detach(int ifindex) {
        for (int point : new int[] {LibBpf.BPF_TC_INGRESS, LibBpf.BPF_TC_EGRESS}) {
            int rc = lib.bpf_tc_detach(jnr.ffi.Struct.getMemory(hook(ifindex, point)), jnr.ffi.Struct.getMemory(opts(0, 0)));
            if (rc < 0 && rc != -ENOENT && rc != -ENODEV && rc != -EINVAL) {
                LOG.warning("detaching from ifindex " + ifindex + ": " + errno(-rc));
            }
        }
        attached.remove(ifindex);
    }

    /** Whether our filter is attached at that hook (for tests and status). */
    public boolean isAttached(int ifindex, boolean ingress) {
        Structs.TcOpts opts = opts(0, 0);
        int rc = lib.bpf_tc_query(jnr.ffi.Struct.getMemory(hook(ifindex, ingress ? LibBpf.BPF_TC_INGRESS : LibBpf.BPF_TC_EGRESS)),
                jnr.ffi.Struct.getMemory(opts));
        return rc == 0 && opts.prog_id.get() != 0;
    }

    private Structs.TcHook hook(int ifindex, int point) {
        Structs.TcHook h = new Structs.TcHook(runtime);
        h.useMemory(runtime.getMemoryManager().allocateDirect(h.size(), true));
        h.sz.set(h.size());
        h.ifindex.set(ifindex);
        h.attach_point.set(point);
        return h;
    }

    private Structs.TcOpts opts(int progFd, int flags) {
        Structs.TcOpts o = new Structs.TcOpts(runtime);
        o.useMemory(runtime.getMemoryManager().allocateDirect(o.size(), true));
        o.sz.set(o.size());
        o.prog_fd.set(progFd);
        o.flags.set(flags);
        o.handle.set(TC_HANDLE);
        o.priority.set(TC_PRIORITY);
        return o;
    }

    // ------------------------------------------------------------------ cgroup_skb

    /** The cgroup id of the endpoint's cgroup v2 directory: its inode number, what bpf_skb_cgroup_id reports. */
    private static long cgroupId(DatapathEndpoint ep) throws DatapathException {
        Path dir = Path.of(ep.cgroupPath());
        if (!dir.isAbsolute()) throw new DatapathException("endpoint " + ep.id() + ": cgroup path \"" + ep.cgroupPath()
                + "\" is not absolute");
        if (!Files.isDirectory(dir)) throw new DatapathException("endpoint " + ep.id() + ": cgroup " + dir + " does not exist");
        // cgroup.controllers exists only in cgroup v2 directories; a v1 hierarchy cannot take cgroup_skb programs
        if (!Files.exists(dir.resolve("cgroup.controllers"))) {
            throw new DatapathException("endpoint " + ep.id() + ": " + dir + " is not a cgroup v2 directory"
                    + " (no cgroup.controllers)");
        }
        try {
            return ((Number) Files.getAttribute(dir, "unix:ino")).longValue();
        } catch (IOException | RuntimeException e) {
            throw new DatapathException("endpoint " + ep.id() + ": cannot read the cgroup id of " + dir + ": " + e, e);
        }
    }

    private Path linkPin(long epId, long cgid, boolean ingress) {
        return pinDir.resolve(LINK_DIR).resolve("ep" + epId + "-cg" + cgid + "-" + (ingress ? "ingress" : "egress"));
    }

    /**
     * Attaches both programs to the cgroup through bpf links pinned under {@link #LINK_DIR}, so that they stay
     * attached while no agent runs. A link a previous agent pinned gets our program atomically (bpf_link_update),
     * the cgroup counterpart of BPF_TC_F_REPLACE: no moment without a program.
     */
    private void attachCgroup(DatapathEndpoint ep, long cgid) throws DatapathException {
        for (boolean ingress : new boolean[] {true, false}) {
            Path pin = linkPin(ep.id(), cgid, ingress);
            int prog = ingress ? progCgIngress : progCgEgress;
            String progName = ingress ? PROG_CG_INGRESS : PROG_CG_EGRESS;
            if (Files.exists(pin)) {
                int fd = lib.bpf_obj_get(pin.toString());
                if (fd >= 0) {
                    int rc = lib.bpf_link_update(fd, prog, null);
                    libc.close(fd);
                    if (rc == 0) continue;
                    LOG.warning("pinned link " + pin + " cannot take the new program (" + errno(-rc) + "); re-creating it");
                }
                try {
                    Files.deleteIfExists(pin);
                } catch (IOException e) {
                    throw new DatapathException("cannot remove the stale link pin " + pin + ": " + e.getMessage(), e);
                }
            }
            int cgfd = libc.open(ep.cgroupPath(), oDirectory());
            if (cgfd < 0) {
                throw new DatapathException("endpoint " + ep.id() + ": cannot open cgroup " + ep.cgroupPath() + ": "
                        + errno(LastError.getLastError(runtime)));
            }
            try {
                int link = lib.bpf_link_create(prog, cgfd, ingress ? LibBpf.BPF_CGROUP_INET_INGRESS : LibBpf.BPF_CGROUP_INET_EGRESS, null);
                if (link < 0) {
                    throw new DatapathException("cannot attach " + progName + " to cgroup " + ep.cgroupPath()
                            + " for endpoint " + ep.id() + ": " + errno(-link));
                }
                int rc = lib.bpf_obj_pin(link, pin.toString());
                if (rc < 0) {
                    lib.bpf_link_detach(link);
                    libc.close(link);
                    throw new DatapathException("cannot pin the link of " + progName + " at " + pin + ": " + errno(-rc));
                }
                libc.close(link); // the pin holds the link now
            } finally {
                libc.close(cgfd);
            }
        }
        cgroupPaths.put(cgid, ep.cgroupPath());
        // the same endpoint on an earlier cgroup (the directory was re-created): its links and entry go last
        detachCgroups(ep.id(), cgid);
    }

    /** Detaches and unpins every link of the endpoint except those on cgroup {@code keep}, and their map entries. */
    private void detachCgroups(long epId, long keep) {
        Path dir = pinDir.resolve(LINK_DIR);
        if (!Files.isDirectory(dir)) return;
        Set<Long> dropped = new HashSet<>();
        try (var pins = Files.list(dir)) {
            for (Path pin : (Iterable<Path>) pins::iterator) {
                String n = pin.getFileName().toString();
                if (!n.startsWith("ep" + epId + "-cg")) continue;
                long cgid;
                try {
                    cgid = Long.parseLong(n.substring(("ep" + epId + "-cg").length(), n.lastIndexOf('-')));
                } catch (RuntimeException e) {
                    continue; // not ours
                }
                if (cgid == keep) continue;
                int fd = lib.bpf_obj_get(pin.toString());
                if (fd >= 0) {
                    lib.bpf_link_detach(fd);
                    libc.close(fd);
                }
                Files.deleteIfExists(pin);
                dropped.add(cgid);
            }
        } catch (IOException e) {
            LOG.warning("cannot list the link pins in " + dir + ": " + e.getMessage());
        }
        if (fdCgEndpoints < 0) return;
        for (Map.Entry<Bytes, byte[]> e : readAll(fdCgEndpoints, 8, 12).entrySet()) {
            long cgid = le64(e.getKey().b());
            if (cgid == keep) continue;
            if (Structs.from(new Structs.EndpointValue(runtime), e.getValue()).ep_id.get() == epId || dropped.contains(cgid)) {
                lib.bpf_map_delete_elem(fdCgEndpoints, e.getKey().b());
                cgroupPaths.remove(cgid);
            }
        }
    }

    /** Whether the endpoint's links are pinned on its cgroup in both directions (for tests and status). */
    public boolean isCgroupAttached(long epId, String cgroupPath) {
        try {
            long cgid = ((Number) Files.getAttribute(Path.of(cgroupPath), "unix:ino")).longValue();
            return Files.exists(linkPin(epId, cgid, true)) && Files.exists(linkPin(epId, cgid, false));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Cgroups with our programs attached (pinned ingress links), for status. */
    public int attachedCgroups() {
        try (var pins = Files.list(pinDir.resolve(LINK_DIR))) {
            return (int) pins.filter(p -> p.getFileName().toString().endsWith("-ingress")).count();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Why cgroup endpoints cannot be enforced, or null when they can. */
    public String cgroupError() {
        return cgroupError;
    }

    private static int oDirectory() {
        // O_RDONLY | O_DIRECTORY: the flag's value differs between architectures
        return "aarch64".equals(System.getProperty("os.arch")) ? 0x4000 : 0x10000;
    }

    private void detachInterface(DatapathEndpoint prev) {
        detach(prev.ifindex());
        byte[] k = u32(prev.ifindex());
        byte[] v = lookup(fdEndpoints, k, 12);
        if (v != null && Structs.from(new Structs.EndpointValue(runtime), v).ep_id.get() == prev.id()) {
            lib.bpf_map_delete_elem(fdEndpoints, k);
        }
    }

    // ------------------------------------------------------------------ map codec

    private static int flags(DatapathEndpoint ep) {
        return (ep.ingressEnforced() ? BpfEndpoint.FLAG_INGRESS_ENFORCED : 0)
                | (ep.egressEnforced() ? BpfEndpoint.FLAG_EGRESS_ENFORCED : 0)
                | (ep.audit() ? BpfEndpoint.FLAG_AUDIT : 0);
    }

    private byte[] endpointValue(DatapathEndpoint ep, int flags) {
        Structs.EndpointValue v = Structs.zeroed(new Structs.EndpointValue(runtime));
        v.ep_id.set(ep.id());
        v.identity.set(ep.identity());
        v.flags.set(flags);
        return v.bytes();
    }

    byte[] policyKey(PolicyCodec.Key k) {
        Structs.PolicyKey s = Structs.zeroed(new Structs.PolicyKey(runtime));
        s.prefixlen.set(k.prefixlen());
        s.ep_id.set(Integer.reverseBytes((int) k.epId()) & 0xffffffffL);
        s.identity.set(Integer.reverseBytes((int) k.identity()) & 0xffffffffL);
        s.dir.set(k.dir());
        s.proto.set(k.proto());
        s.dport.set(Short.reverseBytes((short) k.port()) & 0xffff);
        return s.bytes();
    }

    PolicyCodec.Key decodePolicyKey(byte[] b) {
        Structs.PolicyKey s = Structs.from(new Structs.PolicyKey(runtime), b);
        return new PolicyCodec.Key(Integer.reverseBytes((int) s.ep_id.get()) & 0xffffffffL,
                Integer.reverseBytes((int) s.identity.get()) & 0xffffffffL, s.dir.get(), s.proto.get(),
                Short.reverseBytes((short) s.dport.get()) & 0xffff, (int) s.prefixlen.get());
    }

    private byte[] policyValue(PolicyCodec.Value v) {
        Structs.PolicyValue s = Structs.zeroed(new Structs.PolicyValue(runtime));
        s.action.set(v.action());
        s.flags.set(v.flags());
        s.proxy_port.set(v.proxyPort());
        s.rule_id.set(v.ruleId() & 0xffffffffL);
        return s.bytes();
    }

    private Map<PolicyCodec.Key, PolicyCodec.Value> readPolicy() {
        Map<PolicyCodec.Key, PolicyCodec.Value> out = new LinkedHashMap<>();
        for (Map.Entry<Bytes, byte[]> e : readAll(fdPolicy, 16, 8).entrySet()) {
            Structs.PolicyValue v = Structs.from(new Structs.PolicyValue(runtime), e.getValue());
            out.put(decodePolicyKey(e.getKey().b()), new PolicyCodec.Value(v.action.get(), v.proxy_port.get(), (int) v.rule_id.get(),
                    v.flags.get()));
        }
        return out;
    }

    @Override
    public List<RuleHits> ruleHits() {
        synchronized (lock) {
            if (!loaded) return List.of();
            List<RuleHits> out = new ArrayList<>();
            for (byte[] k : keys(fdPolicyStats, 12)) {
                Structs.PolicyStatsKey sk = Structs.from(new Structs.PolicyStatsKey(runtime), k);
                long packets = percpuSum(fdPolicyStats, k);
                if (packets == 0) continue;
                out.add(new RuleHits(sk.ep_id.get(), (int) sk.rule_id.get(),
                        sk.dir.get() == PolicyCodec.DIR_INGRESS ? "INGRESS" : "EGRESS", packets));
            }
            out.sort(Comparator.comparingLong(RuleHits::endpointId).thenComparingInt(RuleHits::ruleId)
                    .thenComparing(RuleHits::direction));
            return out;
        }
    }

    /** Packets per "dir/ruleId" for one endpoint, summed over CPUs. */
    private Map<String, Long> readPolicyPackets(long epId) {
        Map<String, Long> out = new HashMap<>();
        for (byte[] k : keys(fdPolicyStats, 12)) {
            Structs.PolicyStatsKey sk = Structs.from(new Structs.PolicyStatsKey(runtime), k);
            if (sk.ep_id.get() != epId) continue;
            out.merge(sk.dir.get() + "/" + (int) sk.rule_id.get(), percpuSum(fdPolicyStats, k), Long::sum);
        }
        return out;
    }

    private List<BpfEndpoint> readEndpoints() {
        List<BpfEndpoint> out = new ArrayList<>();
        for (Map.Entry<Bytes, byte[]> e : readAll(fdEndpoints, 4, 12).entrySet()) {
            byte[] k = e.getKey().b();
            int ifindex = (k[0] & 0xff) | (k[1] & 0xff) << 8 | (k[2] & 0xff) << 16 | (k[3] & 0xff) << 24;
            Structs.EndpointValue v = Structs.from(new Structs.EndpointValue(runtime), e.getValue());
            out.add(new BpfEndpoint(ifindex, v.ep_id.get(), v.identity.get(), (int) v.flags.get(), ifname(ifindex)));
        }
        if (fdCgEndpoints >= 0) {
            for (Map.Entry<Bytes, byte[]> e : readAll(fdCgEndpoints, 8, 12).entrySet()) {
                long cgid = le64(e.getKey().b());
                Structs.EndpointValue v = Structs.from(new Structs.EndpointValue(runtime), e.getValue());
                // no interface: ifindex 0, and the cgroup where the name would be
                out.add(new BpfEndpoint(0, v.ep_id.get(), v.identity.get(), (int) v.flags.get(),
                        cgroupPaths.getOrDefault(cgid, "cgroup id " + cgid)));
            }
        }
        out.sort(Comparator.comparingLong(BpfEndpoint::endpointId).thenComparingInt(BpfEndpoint::ifindex));
        return out;
    }

    /**
     * The interface's name in the agent's namespace. Read from sysfs: {@code NetworkInterface} lists only
     * interfaces that carry an address, and host-side veths carry none.
     */
    private static String ifname(int ifindex) {
        try (var links = java.nio.file.Files.list(java.nio.file.Path.of("/sys/class/net"))) {
            for (var link : (Iterable<java.nio.file.Path>) links::iterator) {
                try {
                    if (Integer.parseInt(java.nio.file.Files.readString(link.resolve("ifindex")).trim()) == ifindex) {
                        return link.getFileName().toString();
                    }
                } catch (java.io.IOException | NumberFormatException ignored) {
                    // a link that went away while listing
                }
            }
        } catch (java.io.IOException ignored) {
            // no sysfs: leave the name empty
        }
        return "";
    }

    private long percpuSum(int fd, byte[] key) {
        byte[] v = new byte[8 * ncpus];
        if (lib.bpf_map_lookup_elem(fd, key, v) != 0) return 0;
        long sum = 0;
        for (int c = 0; c < ncpus; c++) {
            long x = 0;
            for (int i = 7; i >= 0; i--) x = (x << 8) | (v[c * 8 + i] & 0xff);
            sum += x;
        }
        return sum;
    }

    private byte[] lookup(int fd, byte[] key, int valueSize) {
        byte[] v = new byte[valueSize];
        return lib.bpf_map_lookup_elem(fd, key, v) == 0 ? v : null;
    }

    private List<byte[]> keys(int fd, int keySize) {
        List<byte[]> out = new ArrayList<>();
        byte[] prev = null;
        // A hash map restarts from its first key when the previous one was deleted meanwhile (conntrack churns):
        // bound the walk well above any map's size instead of trusting it to end.
        for (int guard = 0; guard < 600_000; guard++) {
            byte[] next = new byte[keySize];
            if (lib.bpf_map_get_next_key(fd, prev, next) != 0) break;
            out.add(next);
            prev = next;
        }
        return out;
    }

    private Map<Bytes, byte[]> readAll(int fd, int keySize, int valueSize) {
        Map<Bytes, byte[]> out = new LinkedHashMap<>();
        for (byte[] k : keys(fd, keySize)) {
            byte[] v = lookup(fd, k, valueSize);
            if (v != null) out.put(new Bytes(k), v);
        }
        return out;
    }

    private static byte[] u64(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) b[i] = (byte) (v >>> (8 * i));
        return b;
    }

    private static long le64(byte[] b) {
        long v = 0;
        for (int i = 7; i >= 0; i--) v = (v << 8) | (b[i] & 0xffL);
        return v;
    }

    private static byte[] u32(long v) {
        return new byte[] {(byte) v, (byte) (v >> 8), (byte) (v >> 16), (byte) (v >> 24)};
    }

    private void requireLoaded() throws DatapathException {
        if (!loaded) throw new DatapathException("the eBPF datapath is not loaded" + (error == null ? "" : ": " + error));
    }

    static String errno(int e) {
        String name = switch (e) {
            case 1 -> "EPERM (need root: CAP_SYS_ADMIN/CAP_BPF and CAP_NET_ADMIN)";
            case 2 -> "ENOENT";
            case 7 -> "E2BIG (map full)";
            case 9 -> "EBADF";
            case 12 -> "ENOMEM";
            case 13 -> "EACCES (verifier rejected the program)";
            case 16 -> "EBUSY";
            case 17 -> "EEXIST";
            case 19 -> "ENODEV (no such interface)";
            case 22 -> "EINVAL";
            case 28 -> "ENOSPC (map full)";
            case 95 -> "EOPNOTSUPP";
            default -> "errno " + e;
        };
        return name;
    }

    /** A byte array with value equality, for map keys. */
    record Bytes(byte[] b) {
        @Override public boolean equals(Object o) {
            return o instanceof Bytes other && Arrays.equals(b, other.b);
        }

        @Override public int hashCode() {
            return Arrays.hashCode(b);
        }
    }

    /** Records each write's previous value so that a failed multi-entry change can be put back. */
    final class Undo {
        private final Deque<Object[]> log = new ArrayDeque<>();

        /** {@code old}: the exact entry's current value, null when absent (callers know it from their diff). */
        void put(int fd, byte[] key, byte[] value, byte[] old, String what) throws DatapathException {
            int rc = lib.bpf_map_update_elem(fd, key, value, LibBpf.BPF_ANY);
            if (rc < 0) {
                throw new DatapathException("writing " + what + " failed: " + errno(-rc) + "; the previous state was kept");
            }
            log.push(new Object[] {fd, key, old});
        }

        void delete(int fd, byte[] key, byte[] old, String what) throws DatapathException {
            int rc = lib.bpf_map_delete_elem(fd, key);
            if (rc < 0 && rc != -ENOENT) {
                throw new DatapathException("deleting " + what + " failed: " + errno(-rc) + "; the previous state was kept");
            }
            if (old != null) log.push(new Object[] {fd, key, old});
        }

        void rollback() {
            while (!log.isEmpty()) {
                Object[] e = log.pop();
                int fd = (int) e[0];
                byte[] key = (byte[]) e[1];
                byte[] old = (byte[]) e[2];
                int rc = old == null ? lib.bpf_map_delete_elem(fd, key) : lib.bpf_map_update_elem(fd, key, old, LibBpf.BPF_ANY);
                if (rc < 0 && rc != -ENOENT) LOG.warning("rollback of a map write failed: " + errno(-rc));
            }
        }
    }
}
