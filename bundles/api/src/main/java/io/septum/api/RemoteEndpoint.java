package io.septum.api;

/**
 * An address that another node of the cluster owns, as the cluster's store publishes it.
 *
 * @param ip        the address ({@code 10.0.1.5} or an IPv6 address)
 * @param identity  the endpoint's cluster-wide identity
 * @param node      the node that published it
 * @param namespace the endpoint's namespace on that node
 * @param name      the endpoint's name on that node
 */
public record RemoteEndpoint(String ip, long identity, String node, String namespace, String name) {
    /** The ipcache source the entry is shown with: {@code kvstore:<node>}. */
    public String source() {
        return "kvstore:" + node;
    }
}
