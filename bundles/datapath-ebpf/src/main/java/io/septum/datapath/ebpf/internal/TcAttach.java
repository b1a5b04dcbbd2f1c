package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The tc side of interface endpoints: our filters (handle {@link EbpfDatapath#TC_HANDLE}, priority
 * {@link EbpfDatapath#TC_PRIORITY}) on the host-side interface's clsact hooks, and septum_to_proxy on the ingress of
 * the bridge such an interface is a port of. Other tools' filters on the same hooks are left alone.
 */
final class TcAttach {
    private static final Logger LOG = Logger.getLogger(EbpfDatapath.class.getName());
    private static final int ENOENT = 2, EEXIST = 17, ENODEV = 19, EINVAL = 22;

    private final TcNetlink netlink;
    private final Set<Integer> attached = new HashSet<>();
    /** Host interfaces (the host firewall's programs) and bridges with septum_to_proxy: the same hook, never both. */
    private final Set<Integer> hostInterfaces = new HashSet<>(), proxyBridges = new HashSet<>();

    TcAttach(TcNetlink netlink) {
        this.netlink = netlink;
    }

    /** Both programs on the interface: its ingress carries what the endpoint sends (its egress), and vice versa. */
    void attach(DatapathEndpoint ep, int progFrom, int progTo) throws DatapathException {
        attachOne(ep.ifindex(), true, progFrom, EbpfDatapath.PROG_FROM_EP, ep);
        attachOne(ep.ifindex(), false, progTo, EbpfDatapath.PROG_TO_EP, ep);
        attached.add(ep.ifindex());
    }

    /** The host firewall on one of the host's interfaces: its ingress carries the host's ingress. */
    void attachHost(DatapathEndpoint ep, int progIn, int progOut) throws DatapathException {
        if (proxyBridges.contains(ep.ifindex())) {
            throw new DatapathException("host interface " + ep.interfaceName() + " is the bridge of endpoints, whose"
                    + " ingress carries the L7 proxy's program: name the host's uplink instead");
        }
        hostInterfaces.add(ep.ifindex());
        attachOne(ep.ifindex(), true, progIn, EbpfDatapath.PROG_HOST_IN, ep);
        attachOne(ep.ifindex(), false, progOut, EbpfDatapath.PROG_HOST_OUT, ep);
        attached.add(ep.ifindex());
    }

    private void attachOne(int ifindex, boolean ingress, int progFd, String progName, DatapathEndpoint ep) throws DatapathException {
        TcNetlink.Result r = netlink.createClsact(ifindex);
        if (!r.ok() && r.errno() != EEXIST) {
            throw new DatapathException("cannot create the clsact qdisc on " + ep.interfaceName() + " (ifindex "
                    + ifindex + ") for endpoint " + ep.id() + ": " + r.describe()
                    + (r.errno() == ENODEV ? " (the interface does not exist in the agent's network namespace)" : ""));
        }
        r = netlink.attach(ifindex, ingress, EbpfDatapath.TC_HANDLE, EbpfDatapath.TC_PRIORITY, progFd, progName);
        if (!r.ok()) {
            throw new DatapathException("cannot attach " + progName + " to " + ep.interfaceName() + " (ifindex " + ifindex
                    + ") for endpoint " + ep.id() + ": " + r.describe());
        }
    }

    /**
     * A bridge port's frames for the L7 proxy reach the host stack through the bridge, which drops the socket
     * septum_from_ep assigned: septum_to_proxy on the bridge's ingress assigns it again. Only marked frames are
     * touched there. Left attached when the endpoint goes (the bridge may carry others; it goes with the bridge).
     */
    void attachBridge(DatapathEndpoint ep, int progProxy) throws DatapathException {
        String name = ep.interfaceName() == null || ep.interfaceName().isEmpty() ? ifname(ep.ifindex()) : ep.interfaceName();
        Path master = Path.of("/sys/class/net", name, "master");
        if (!Files.exists(master)) return;
        int ifindex;
        try {
            ifindex = Integer.parseInt(Files.readString(master.toRealPath().resolve("ifindex")).trim());
        } catch (IOException | NumberFormatException e) {
            throw new DatapathException("endpoint " + ep.id() + ": cannot read the bridge of " + name + ": " + e.getMessage(), e);
        }
        if (hostInterfaces.contains(ifindex)) {
            throw new DatapathException("endpoint " + ep.id() + ": the bridge of " + name + " is a host interface of the"
                    + " host firewall, whose programs would be replaced: name the host's uplink in hostInterfaces");
        }
        proxyBridges.add(ifindex);
        TcNetlink.Result r = netlink.createClsact(ifindex);
        if (!r.ok() && r.errno() != EEXIST) {
            throw new DatapathException("cannot create the clsact qdisc on the bridge of " + name + ": " + r.describe());
        }
        r = netlink.attach(ifindex, true, EbpfDatapath.TC_HANDLE, EbpfDatapath.TC_PRIORITY, progProxy, EbpfDatapath.PROG_TO_PROXY);
        if (!r.ok()) {
            throw new DatapathException("cannot attach " + EbpfDatapath.PROG_TO_PROXY + " to the bridge of " + name + ": "
                    + r.describe());
        }
    }

    /** Removes only our filters (handle and priority): destroying the hook would kill other tools' filters. */
    void detach(int ifindex) {
        for (boolean ingress : new boolean[] {true, false}) {
            TcNetlink.Result r = netlink.detach(ifindex, ingress, EbpfDatapath.TC_HANDLE, EbpfDatapath.TC_PRIORITY);
            int e = r.errno();
            if (e != 0 && e != ENOENT && e != ENODEV && e != EINVAL) {
                LOG.warning("detaching from ifindex " + ifindex + ": " + r.describe());
            }
            if (e == TcNetlink.ETIMEDOUT) break; // a kernel that does not answer: the lock is not held for the other hook too
        }
        attached.remove(ifindex);
        hostInterfaces.remove(ifindex);
    }

    /** Whether our filter is attached at that hook. */
    boolean isAttached(int ifindex, boolean ingress) {
        TcNetlink.Result r = netlink.query(ifindex, ingress, EbpfDatapath.TC_HANDLE, EbpfDatapath.TC_PRIORITY);
        return r.ok() && r.progId() != 0;
    }

    /** Interfaces this agent attached to since it started. */
    int count() {
        return attached.size();
    }

    /**
     * The interface's name in the agent's namespace, or "". Read from sysfs: {@code NetworkInterface} lists only
     * interfaces that carry an address, and host-side veths carry none. One call reads every link's ifindex: for
     * many interfaces at once use {@link #ifnames()}.
     */
    static String ifname(int ifindex) {
        return ifnames().getOrDefault(ifindex, "");
    }

    /** Every interface of the agent's namespace by ifindex, from one walk of sysfs (empty without sysfs). */
    static Map<Integer, String> ifnames() {
        Map<Integer, String> names = new HashMap<>();
        try (var links = Files.list(Path.of("/sys/class/net"))) {
            for (Path link : (Iterable<Path>) links::iterator) {
                try {
                    names.put(Integer.parseInt(Files.readString(link.resolve("ifindex")).trim()), link.getFileName().toString());
                } catch (IOException | NumberFormatException ignored) {
                    // a link that went away while listing
                }
            }
        } catch (IOException ignored) {
            // no sysfs: no names
        }
        return names;
    }
}
