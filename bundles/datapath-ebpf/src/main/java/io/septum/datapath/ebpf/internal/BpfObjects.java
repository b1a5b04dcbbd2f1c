package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;
import jnr.ffi.LastError;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * The two BPF objects, loaded against the same pinned maps: the tc programs of interface endpoints, which must
 * load, and the cgroup_skb programs of cgroup endpoints, which may fail (a kernel without cgroup_skb) and then
 * only disable cgroup endpoints ({@link #cgroupError()} says why). Both objects define every map of maps.h, each
 * pinned by name under the pin directory; before load, each map's key and value sizes are checked against
 * {@link BpfMaps#specs}, so that a struct changed on one side only is refused with its name.
 */
final class BpfObjects implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EbpfDatapath.class.getName());

    /** Every program of both objects: a start reuses pinned programs only when all are pinned. */
    private static final List<String> ALL_PROGS = List.of(EbpfDatapath.PROG_FROM_EP, EbpfDatapath.PROG_TO_EP,
            EbpfDatapath.PROG_TO_PROXY, EbpfDatapath.PROG_HOST_IN, EbpfDatapath.PROG_HOST_OUT,
            EbpfDatapath.PROG_CG_INGRESS, EbpfDatapath.PROG_CG_EGRESS);

    private final LibBpf lib;
    private final LibC libc;
    private final Runtime runtime;
    private final LibbpfLog log;
    private final Path pinDir;
    private final PinDirectory pins;
    private final int ncpus;

    private Pointer objMem, obj, cgObjMem, cgObj;
    private BpfMaps maps;
    /** The loaded programs' fds by name ({@code EbpfDatapath.PROG_*}). */
    private final Map<String, Integer> progs = new HashMap<>();
    private String cgroupError;
    /** The fds this start opened from pins (maps and programs) instead of loading: closed by {@link #close()}. */
    private final List<Integer> pinnedFds = new ArrayList<>();
    private boolean reused;

    BpfObjects(LibBpf lib, LibC libc, Runtime runtime, LibbpfLog log, Path pinDir, int ncpus) {
        this.lib = lib;
        this.libc = libc;
        this.runtime = runtime;
        this.log = log;
        this.pinDir = pinDir;
        this.ncpus = ncpus;
        this.pins = new PinDirectory(pinDir, lib, libc, runtime);
    }

    /**
     * Prepares the pin directory ({@link PinDirectory#prepare}), then takes the programs an earlier start pinned for
     * the same objects when every map was pinned and kept and they use exactly those maps ({@link PinnedPrograms});
     * else loads the tc object (throws when it cannot) and then the cgroup object ({@code null}: says why not), and
     * pins them.
     */
    void load(byte[] object, byte[] cgroupObject, String cgroupMissing) throws DatapathException {
        boolean mapsIntact = pins.prepare(BpfMaps.specs(runtime));
        PinnedPrograms pinned = new PinnedPrograms(lib, libc, runtime, pinDir, object, cgroupObject);
        if (mapsIntact && cgroupObject != null && reuse(pinned)) return;
        objMem = copy(object);
        obj = openAndLoad(objMem, object.length, "the BPF object");
        Map<String, BpfMap> byName = new LinkedHashMap<>();
        for (BpfMaps.Spec s : BpfMaps.specs(runtime)) {
            int fd = lib.bpf_map__fd(lib.bpf_object__find_map_by_name(obj, s.name()));
            if (fd < 0) throw new DatapathException("map " + s.name() + " has no fd after load: " + BpfErrors.errno(-fd));
            long max = Integer.toUnsignedLong(lib.bpf_map__max_entries(lib.bpf_object__find_map_by_name(obj, s.name())));
            byName.put(s.name(), new BpfMap(lib, s.name(), fd, s.keySize(), s.valueSize(), max, ncpus));
        }
        maps = new BpfMaps(byName);
        loadProgs(obj, EbpfDatapath.PROG_FROM_EP, EbpfDatapath.PROG_TO_EP, EbpfDatapath.PROG_TO_PROXY,
                EbpfDatapath.PROG_HOST_IN, EbpfDatapath.PROG_HOST_OUT);
        if (cgroupObject == null) {
            cgroupError = cgroupMissing;
            pinned.pin(null);
            return;
        }
        try {
            cgObjMem = copy(cgroupObject);
            cgObj = openAndLoad(cgObjMem, cgroupObject.length, "the cgroup BPF object");
            loadProgs(cgObj, EbpfDatapath.PROG_CG_INGRESS, EbpfDatapath.PROG_CG_EGRESS);
            cgroupError = null;
            pinned.pin(progs); // only a whole set: a start reuses both objects' programs or none
        } catch (DatapathException e) {
            cgroupError = e.getMessage();
            LOG.warning("cgroup endpoints are disabled: " + e.getMessage());
            closeCgroup();
            pinned.pin(null);
        }
    }

    /** Opens every map from its pin and the pinned programs; false, with nothing left open, when any is not as loaded. */
    private boolean reuse(PinnedPrograms pinned) {
        Map<String, BpfMap> byName = new LinkedHashMap<>();
        Set<Long> ids = new HashSet<>();
        StringBuilder why = new StringBuilder();
        try {
            for (BpfMaps.Spec s : BpfMaps.specs(runtime)) {
                Path pin = pinDir.resolve(s.name());
                int fd = lib.bpf_obj_get(pin.toString());
                if (fd < 0) throw new DatapathException(s.name() + " is not pinned");
                pinnedFds.add(fd);
                ObjInfo.Map info = ObjInfo.map(lib, runtime, fd, "the pinned map " + pin);
                if (info.keySize() != s.keySize() || info.valueSize() != s.valueSize()) {
                    throw new DatapathException(s.name() + " is pinned with other key/value sizes");
                }
                ids.add(info.id());
                byName.put(s.name(), new BpfMap(lib, s.name(), fd, s.keySize(), s.valueSize(), info.maxEntries(), ncpus));
            }
            Map<String, Integer> fds = pinned.open(ALL_PROGS, ids, why);
            if (fds != null) {
                pinnedFds.addAll(fds.values());
                progs.putAll(fds);
                maps = new BpfMaps(byName);
                cgroupError = null;
                reused = true;
                LOG.info("reused the programs pinned under " + pinned.dir + " (the same objects on the same maps)");
                return true;
            }
        } catch (DatapathException e) {
            why.append(e.getMessage());
        }
        closePinnedFds();
        LOG.info("loading the BPF objects: " + why);
        return false;
    }

    /** Whether this start took pinned programs instead of loading the objects. */
    boolean reused() {
        return reused;
    }

    private void closePinnedFds() {
        for (int fd : pinnedFds) libc.close(fd);
        pinnedFds.clear();
        progs.clear();
    }

    private Pointer copy(byte[] bytes) {
        Pointer mem = runtime.getMemoryManager().allocateDirect(bytes.length, false);
        mem.put(0, bytes, 0, bytes.length);
        return mem;
    }

    private Pointer openAndLoad(Pointer mem, int length, String what) throws DatapathException {
        log.startCapture();
        Pointer o = lib.bpf_object__open_mem(mem, length, null);
        if (o == null) {
            throw new DatapathException("libbpf could not open " + what + " (" + BpfErrors.errno(LastError.getLastError(runtime))
                    + ")" + log.capturedTail());
        }
        try {
            for (BpfMaps.Spec s : BpfMaps.specs(runtime)) {
                Pointer map = lib.bpf_object__find_map_by_name(o, s.name());
                if (map == null) throw new DatapathException(what + " has no map " + s.name() + ": object and agent do not match");
                String mismatch = sizeMismatch(lib, map, s);
                if (mismatch != null) throw new DatapathException(what + ": " + mismatch + ": object and agent do not match");
                pins.dropIfUnlike(s.name(), new ObjInfo.Map(lib.bpf_map__type(map), 0, s.keySize(), s.valueSize(),
                        Integer.toUnsignedLong(lib.bpf_map__max_entries(map)), Integer.toUnsignedLong(lib.bpf_map__map_flags(map)), s.name()));
                int rc = lib.bpf_map__set_pin_path(map, pinDir.resolve(s.name()).toString());
                if (rc < 0) throw new DatapathException("cannot set pin path of " + s.name() + ": " + BpfErrors.errno(-rc));
            }
            int rc = lib.bpf_object__load(o);
            if (rc < 0) {
                throw new DatapathException("loading " + what + " failed (" + BpfErrors.errno(-rc) + "); a pinned map under "
                        + pinDir + " that no longer matches its definition must be removed by hand" + log.capturedTail());
            }
            log.stopCapture();
            return o;
        } catch (DatapathException e) {
            log.stopCapture();
            lib.bpf_object__close(o);
            throw e;
        }
    }

    /** What differs between a map of an opened object and its spec, or null. */
    static String sizeMismatch(LibBpf lib, Pointer map, BpfMaps.Spec s) {
        int k = lib.bpf_map__key_size(map), v = lib.bpf_map__value_size(map);
        if (k == s.keySize() && v == s.valueSize()) return null;
        return "map " + s.name() + " has key/value sizes " + k + "/" + v + " in C but " + s.keySize() + "/" + s.valueSize() + " in Java";
    }

    /** Records the fds of the loaded object's programs {@code names}; throws when one is missing. */
    private void loadProgs(Pointer o, String... names) throws DatapathException {
        for (String name : names) {
            Pointer p = lib.bpf_object__find_program_by_name(o, name);
            if (p == null) throw new DatapathException("BPF object has no program " + name);
            int fd = lib.bpf_program__fd(p);
            if (fd < 0) throw new DatapathException("program " + name + " has no fd after load: " + BpfErrors.errno(-fd));
            progs.put(name, fd);
        }
    }

    BpfMaps maps() {
        return maps;
    }

    /** The fd of the loaded program {@code name} ({@code EbpfDatapath.PROG_*}), -1 when it is not loaded. */
    int prog(String name) {
        return progs.getOrDefault(name, -1);
    }

    /** Why cgroup endpoints cannot be enforced (the cgroup object did not load), or null when they can. */
    String cgroupError() {
        return cgroupError;
    }

    private void closeCgroup() {
        if (cgObj != null) lib.bpf_object__close(cgObj);
        cgObj = null;
        cgObjMem = null;
        progs.remove(EbpfDatapath.PROG_CG_INGRESS);
        progs.remove(EbpfDatapath.PROG_CG_EGRESS);
    }

    /** Closes both objects: programs stay attached and maps stay pinned. */
    @Override
    public void close() {
        closePinnedFds();
        closeCgroup();
        if (obj != null) lib.bpf_object__close(obj);
        obj = null;
        objMem = null;
        maps = null;
    }
}
