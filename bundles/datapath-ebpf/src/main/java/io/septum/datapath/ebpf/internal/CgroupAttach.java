package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.logging.Logger;
import jnr.ffi.LastError;
import jnr.ffi.Runtime;

/**
 * The cgroup side of cgroup endpoints: both cgroup_skb programs attached to the endpoint's cgroup v2 directory
 * through bpf links pinned under {@code <pin dir>/}{@link EbpfDatapath#LINK_DIR}, named
 * {@code ep<id>-cg<cgroup id>-<dir>}, so that they stay attached while no agent runs.
 */
final class CgroupAttach {
    private static final Logger LOG = Logger.getLogger(EbpfDatapath.class.getName());

    private final LibBpf lib;
    private final LibC libc;
    private final Runtime runtime;
    private final Path linkDir;

    CgroupAttach(LibBpf lib, LibC libc, Runtime runtime, Path pinDir) {
        this.lib = lib;
        this.libc = libc;
        this.runtime = runtime;
        this.linkDir = pinDir.resolve(EbpfDatapath.LINK_DIR);
    }

    void createLinkDir() throws DatapathException {
        try {
            Files.createDirectories(linkDir);
        } catch (IOException e) {
            throw new DatapathException("cannot create " + linkDir + ": " + e.getMessage(), e);
        }
    }

    /** The cgroup id of the endpoint's cgroup v2 directory: its inode number, what bpf_skb_cgroup_id reports. */
    static long cgroupId(DatapathEndpoint ep) throws DatapathException {
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
        return linkDir.resolve("ep" + epId + "-cg" + cgid + "-" + (ingress ? "ingress" : "egress"));
    }

    /**
     * Attaches both programs. A link a previous agent pinned gets our program atomically (bpf_link_update), the
     * cgroup counterpart of BPF_TC_F_REPLACE: no moment without a program.
     */
    void attach(DatapathEndpoint ep, long cgid, int progIngress, int progEgress) throws DatapathException {
        for (boolean ingress : new boolean[] {true, false}) {
            Path pin = linkPin(ep.id(), cgid, ingress);
            int prog = ingress ? progIngress : progEgress;
            String progName = ingress ? EbpfDatapath.PROG_CG_INGRESS : EbpfDatapath.PROG_CG_EGRESS;
            if (Files.exists(pin)) {
                int fd = lib.bpf_obj_get(pin.toString());
                if (fd >= 0) {
                    int rc = lib.bpf_link_update(fd, prog, null);
                    libc.close(fd);
                    if (rc == 0) continue;
                    LOG.warning("pinned link " + pin + " cannot take the new program (" + BpfErrors.errno(-rc) + "); re-creating it");
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
                        + BpfErrors.errno(LastError.getLastError(runtime)));
            }
            try {
                int link = lib.bpf_link_create(prog, cgfd, ingress ? LibBpf.BPF_CGROUP_INET_INGRESS : LibBpf.BPF_CGROUP_INET_EGRESS, null);
                if (link < 0) {
                    throw new DatapathException("cannot attach " + progName + " to cgroup " + ep.cgroupPath()
                            + " for endpoint " + ep.id() + ": " + BpfErrors.errno(-link));
                }
                int rc = lib.bpf_obj_pin(link, pin.toString());
                if (rc < 0) {
                    lib.bpf_link_detach(link);
                    libc.close(link);
                    throw new DatapathException("cannot pin the link of " + progName + " at " + pin + ": " + BpfErrors.errno(-rc));
                }
                libc.close(link); // the pin holds the link now
            } finally {
                libc.close(cgfd);
            }
        }
    }

    /** Detaches and unpins every link of the endpoint except those on cgroup {@code keep}; the cgroups it left. */
    Set<Long> detach(long epId, long keep) {
        Set<Long> dropped = new HashSet<>();
        if (!Files.isDirectory(linkDir)) return dropped;
        String prefix = "ep" + epId + "-cg";
        try (var pins = Files.list(linkDir)) {
            for (Path pin : (Iterable<Path>) pins::iterator) {
                String n = pin.getFileName().toString();
                if (!n.startsWith(prefix)) continue;
                long cgid;
                try {
                    cgid = Long.parseLong(n.substring(prefix.length(), n.lastIndexOf('-')));
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
            LOG.warning("cannot list the link pins in " + linkDir + ": " + e.getMessage());
        }
        return dropped;
    }

    /** Whether the endpoint's links are pinned on its cgroup in both directions. */
    boolean isAttached(long epId, String cgroupPath) {
        try {
            long cgid = ((Number) Files.getAttribute(Path.of(cgroupPath), "unix:ino")).longValue();
            return Files.exists(linkPin(epId, cgid, true)) && Files.exists(linkPin(epId, cgid, false));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Cgroups with our programs attached (pinned ingress links). */
    int count() {
        try (var pins = Files.list(linkDir)) {
            return (int) pins.filter(p -> p.getFileName().toString().endsWith("-ingress")).count();
        } catch (IOException e) {
            return 0;
        }
    }

    private static int oDirectory() {
        // O_RDONLY | O_DIRECTORY: the flag's value differs between architectures
        return "aarch64".equals(System.getProperty("os.arch")) ? 0x4000 : 0x10000;
    }
}
