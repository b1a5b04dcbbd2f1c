package io.septum.api.datapath;

import java.util.List;

/**
 * An endpoint as the datapath needs it.
 *
 * @param id              endpoint id (fits in 16 bits)
 * @param identity        its security identity
 * @param interfaceName   host-side interface to attach to
 * @param ifindex         its index in the host network namespace
 * @param addresses       its IPs (the ipcache is pushed separately)
 * @param ingressEnforced whether ingress traffic not allowed by an entry is dropped
 * @param egressEnforced  whether egress traffic not allowed by an entry is dropped
 * @param audit           report would-be drops as AUDIT and let them pass
 */
public record DatapathEndpoint(long id, long identity, String interfaceName, int ifindex, List<String> addresses,
                               boolean ingressEnforced, boolean egressEnforced, boolean audit) {
    public DatapathEndpoint {
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
    }
}
