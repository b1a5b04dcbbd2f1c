package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;
import jnr.ffi.LastError;
import jnr.ffi.Runtime;

/**
 * The pin directory before the objects load against it: bpffs mounted, the directory made (owner only), and a pin
 * of a map whose content the datapath rebuilds by itself (the conntrack tables) removed when its layout is no longer
 * the agent's, as after an upgrade that changed it. Any other pin that no longer matches makes the load fail with
 * the kernel's reason: policy, endpoints and the ipcache are not thrown away behind the user's back.
 */
final class PinDirectory {
    private static final Logger LOG = Logger.getLogger(PinDirectory.class.getName());
    /**
     * Maps whose entries the datapath makes again from traffic. Dropping the conntrack table costs each connection
     * one packet judged by policy from scratch (a reply then meets the other side's policy until its own side sends
     * again). Not the load balancer's: its entries hold each connection's backend.
     */
    static final Set<String> REBUILT = Set.of(BpfMaps.CT);

    private final Path pinDir;
    private final LibBpf lib;
    private final LibC libc;
    private final Runtime runtime;

    PinDirectory(Path pinDir, LibBpf lib, LibC libc, Runtime runtime) {
        this.pinDir = pinDir;
        this.lib = lib;
        this.libc = libc;
        this.runtime = runtime;
    }

    /**
     * Makes the directory ready for a load; returns whether every map of {@code specs} was pinned there already and
     * kept (so that programs pinned by an earlier start still use exactly these maps: {@link PinnedPrograms}).
     */
    boolean prepare(List<BpfMaps.Spec> specs) throws DatapathException {
        ensureBpffs();
        create();
        boolean intact = true;
        for (BpfMaps.Spec s : specs) {
            if (!Files.exists(pinDir.resolve(s.name()))) intact = false;
            else if (REBUILT.contains(s.name()) && dropIfChanged(s)) intact = false;
        }
        Path ct = pinDir.resolve(BpfMaps.CT);
        if (!Files.exists(pinDir.resolve(BpfMaps.EPOCH)) && Files.exists(ct)) {
            // its entries carry epochs of a counter that is gone: a new one would meet them again
            drop(ct, "its entries were stamped with a policy epoch whose map is gone");
        }
        return intact;
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
                    + BpfErrors.errno(LastError.getLastError(runtime)) + "): run 'mount -t bpf bpf /sys/fs/bpf' as root");
        }
        LOG.info("mounted bpffs at /sys/fs/bpf");
    }

    private void create() throws DatapathException {
        try {
            Files.createDirectories(pinDir);
            // pins are protected only by their directory: anyone who can open them can rewrite policy
            Files.setPosixFilePermissions(pinDir, PosixFilePermissions.fromString("rwx------"));
        } catch (IOException | UnsupportedOperationException e) {
            throw new DatapathException("cannot create the BPF pin directory " + pinDir + ": " + e
                    + " (is bpffs mounted at /sys/fs/bpf, and are we root?)", e);
        }
    }

    /** Removes the pin of {@code s} when the pinned map's key or value size differs from the spec's; true if it did. */
    private boolean dropIfChanged(BpfMaps.Spec s) throws DatapathException {
        Path pin = pinDir.resolve(s.name());
        ObjInfo.Map info = pinned(pin);
        long key = info.keySize(), value = info.valueSize();
        if (key == s.keySize() && value == s.valueSize()) return false;
        drop(pin, "it had key/value sizes " + key + "/" + value + ", this agent's are " + s.keySize() + "/" + s.valueSize());
        return true;
    }

    /**
     * Before an object loads: removes the pin of a map the datapath rebuilds ({@link #REBUILT}) when its type, sizes,
     * capacity or flags differ from the object's definition {@code want}, which libbpf would refuse to reuse.
     */
    void dropIfUnlike(String name, ObjInfo.Map want) throws DatapathException {
        Path pin = pinDir.resolve(name);
        if (!REBUILT.contains(name) || !Files.exists(pin)) return;
        ObjInfo.Map have = pinned(pin);
        if (have.sameShape(want)) return;
        drop(pin, "it was " + shape(have) + ", this agent's is " + shape(want));
    }

    private static String shape(ObjInfo.Map m) {
        return "type " + m.type() + ", key/value " + m.keySize() + "/" + m.valueSize() + ", " + m.maxEntries()
                + " entries, flags " + m.flags();
    }

    private ObjInfo.Map pinned(Path pin) throws DatapathException {
        int fd = lib.bpf_obj_get(pin.toString());
        if (fd < 0) throw new DatapathException("cannot open the pinned map " + pin + ": " + BpfErrors.errno(-fd));
        try {
            return ObjInfo.map(lib, runtime, fd, "the pinned map " + pin);
        } finally {
            libc.close(fd);
        }
    }

    private static void drop(Path pin, String why) throws DatapathException {
        try {
            Files.delete(pin);
        } catch (IOException e) {
            throw new DatapathException("cannot remove the pinned map " + pin + " (" + why + "): " + e, e);
        }
        LOG.warning("the pinned map " + pin + " was removed and starts empty (" + why + "); each connection's next "
                + "packet is judged by policy again");
    }
}
