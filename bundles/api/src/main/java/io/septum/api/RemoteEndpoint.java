package io.septum.api;

import java.util.List;

/**
 * An address that another node of the cluster owns, as the cluster's store publishes it.
 *
 * @param ip        the address ({@code 10.0.1.5} or an IPv6 address)
 * @param identity  the endpoint's cluster-wide identity
 * @param node      the node that published it
 * @param namespace the endpoint's namespace on that node
 * @param name      the endpoint's name on that node
 * @param namedPorts the endpoint's named ports, which egress rules naming a port resolve (since 2.2)
 */
public record RemoteEndpoint(String ip, long identity, String node, String namespace, String name,
                             List<NamedPort> namedPorts) {
    /** A remote endpoint without named ports. */
    public RemoteEndpoint(String ip, long identity, String node, String namespace, String name) {
        this(ip, identity, node, namespace, name, List.of());
    }

    public RemoteEndpoint {
        namedPorts = namedPorts == null ? List.of() : List.copyOf(namedPorts);
    }

    /** The ipcache source the entry is shown with: {@code kvstore:<node>}. */
    public String source() {
        return "kvstore:" + node;
    }
}
