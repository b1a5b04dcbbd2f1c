package io.septum.api.datapath;

import java.util.List;

/**
 * An endpoint as the datapath needs it: either a host-side interface (tc programs) or a cgroup v2 directory
 * (cgroup_skb programs).
 *
 * @param id              endpoint id (fits in 16 bits)
 * @param identity        its security identity
 * @param interfaceName   host-side interface to attach to; null for a cgroup endpoint
 * @param ifindex         its index in the host network namespace; 0 for a cgroup endpoint
 * @param addresses       its IPs (the ipcache is pushed separately)
 * @param ingressEnforced whether ingress traffic not allowed by an entry is dropped
 * @param egressEnforced  whether egress traffic not allowed by an entry is dropped
 * @param audit           report would-be drops as AUDIT and let them pass
 * @param cgroupPath      absolute path of the cgroup v2 directory to attach to (e.g.
 *                        {@code /sys/fs/cgroup/system.slice/web.service}), or null for an interface endpoint
 * @param host            the host itself on one of its own interfaces (the host firewall): {@code interfaceName}
 *                        is that interface, whose ingress carries the host's ingress (the reverse of an endpoint's
 *                        host-side veth), and only the host's own traffic is judged there (since 1.5)
 * @since 1.1
 */
public record DatapathEndpoint(long id, long identity, String interfaceName, int ifindex, List<String> addresses,
                               boolean ingressEnforced, boolean egressEnforced, boolean audit, String cgroupPath,
                               boolean host) {
    public DatapathEndpoint {
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
        if (host && cgroupPath != null) throw new IllegalArgumentException("a host endpoint is an interface, not a cgroup");
    }

    /** An interface or cgroup endpoint (the 1.1 constructor). */
    public DatapathEndpoint(long id, long identity, String interfaceName, int ifindex, List<String> addresses,
                            boolean ingressEnforced, boolean egressEnforced, boolean audit, String cgroupPath) {
        this(id, identity, interfaceName, ifindex, addresses, ingressEnforced, egressEnforced, audit, cgroupPath, false);
    }

    /** An interface endpoint (the 1.0 constructor). */
    public DatapathEndpoint(long id, long identity, String interfaceName, int ifindex, List<String> addresses,
                            boolean ingressEnforced, boolean egressEnforced, boolean audit) {
        this(id, identity, interfaceName, ifindex, addresses, ingressEnforced, egressEnforced, audit, null);
    }

    /** Whether this endpoint is enforced on a cgroup rather than an interface. */
    public boolean isCgroup() {
        return cgroupPath != null;
    }
}
