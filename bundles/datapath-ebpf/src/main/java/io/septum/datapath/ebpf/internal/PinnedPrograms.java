package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;
import jnr.ffi.Runtime;

/**
 * The loaded programs, pinned under {@code <pinDir>/progs-<digest>}, where the digest is the SHA-256 of both objects'
 * bytes. A start with the same objects that finds every program pinned there, each using only the maps this start
 * found pinned (and its object's own read-only data), takes their fds instead of loading the objects again, which
 * spares the verifier's half second; anything else (another build, a program or map pin missing or replaced) loads
 * as before and pins anew. Pinning only keeps a program alive: what is attached stays attached either way, and an
 * earlier build's directory is removed once this one is pinned.
 */
final class PinnedPrograms {
    private static final Logger LOG = Logger.getLogger(PinnedPrograms.class.getName());
    static final String PREFIX = "progs-";

    private final LibBpf lib;
    private final LibC libc;
    private final Runtime runtime;
    private final Path pinDir;
    final Path dir;

    PinnedPrograms(LibBpf lib, LibC libc, Runtime runtime, Path pinDir, byte[] object, byte[] cgroupObject) {
        this.lib = lib;
        this.libc = libc;
        this.runtime = runtime;
        this.pinDir = pinDir;
        this.dir = pinDir.resolve(PREFIX + digest(object, cgroupObject));
    }

    private static String digest(byte[] object, byte[] cgroupObject) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(object);
            sha.update((byte) 0);
            if (cgroupObject != null) sha.update(cgroupObject);
            return HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * The fds of the programs {@code names} pinned for these objects, when every one is there and uses only maps
     * of {@code mapIds} (and read-only data); else null, with nothing left open, and {@code why} says what was missing.
     */
    Map<String, Integer> open(List<String> names, Set<Long> mapIds, StringBuilder why) {
        if (!Files.isDirectory(dir)) {
            why.append("no programs pinned for this build");
            return null;
        }
        Map<String, Integer> fds = new LinkedHashMap<>();
        try {
            for (String n : names) {
                int fd = lib.bpf_obj_get(dir.resolve(n).toString());
                if (fd < 0) return failed(fds, why, n + " is not pinned");
                fds.put(n, fd);
                ObjInfo.Prog prog = ObjInfo.prog(lib, runtime, fd, "the pinned program " + n);
                if (!n.startsWith(prog.name()) || prog.name().isEmpty()) return failed(fds, why, n + " is pinned to another program");
                for (long id : prog.mapIds()) {
                    if (!mapIds.contains(id) && !readOnlyData(id)) return failed(fds, why, n + " uses a map that is no longer pinned");
                }
            }
            return fds;
        } catch (DatapathException e) {
            return failed(fds, why, e.getMessage());
        }
    }

    /** libbpf's map of an object's constants ({@code <obj>.rodata}): made and frozen with the object, never pinned. */
    private boolean readOnlyData(long id) throws DatapathException {
        int fd = lib.bpf_map_get_fd_by_id((int) id);
        if (fd < 0) return false;
        try {
            return ObjInfo.map(lib, runtime, fd, "map " + id).name().endsWith(".rodata");
        } finally {
            libc.close(fd);
        }
    }

    private Map<String, Integer> failed(Map<String, Integer> fds, StringBuilder why, String reason) {
        for (int fd : fds.values()) libc.close(fd);
        why.append(reason);
        return null;
    }

    /**
     * Pins {@code progs} here (replacing what is), or nothing when {@code progs} is null (a partial set, which no
     * start could take), and removes every other build's directory, whose programs would keep old maps alive. A
     * failure is only logged: the next start then loads the objects again.
     */
    void pin(Map<String, Integer> progs) {
        try {
            if (progs != null) {
                Files.createDirectories(dir);
                for (Map.Entry<String, Integer> p : progs.entrySet()) {
                    Path pin = dir.resolve(p.getKey());
                    Files.deleteIfExists(pin);
                    int rc = lib.bpf_obj_pin(p.getValue(), pin.toString());
                    if (rc < 0) throw new IOException("pinning " + p.getKey() + " failed: " + BpfErrors.errno(-rc));
                }
            }
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(pinDir, PREFIX + "*")) {
                for (Path other : ds) {
                    if (progs == null || !other.equals(dir)) deleteFlat(other);
                }
            }
        } catch (IOException e) {
            LOG.warning("the loaded programs could not be pinned under " + dir + " (" + e.getMessage()
                    + "): the next start loads them again");
        }
    }

    /** Removes a directory of pins (no subdirectories). */
    private static void deleteFlat(Path d) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
            for (Path p : ds) Files.delete(p);
        }
        Files.delete(d);
    }
}
