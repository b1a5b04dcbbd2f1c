package io.septum.api;

import java.util.List;

/**
 * A node of the cluster as its registration in the store says (the model of {@code septum node list}).
 *
 * @param name               the node's name
 * @param addresses          the node's own addresses (other nodes give them the {@code remote-node} identity)
 * @param cidrs              the CIDRs of its endpoint addresses: other nodes accept its endpoints only inside them
 * @param version            its agent's version
 * @param startTime          when its agent started, epoch milliseconds
 * @param self               whether this is the node answering
 * @param state              {@code alive} while its lease is renewed; {@code unknown} when the store cannot say
 * @param heartbeatAgeMillis how long ago its lease was last renewed, as the lease's remaining time tells; -1 unknown
 * @param endpoints          how many of its endpoint addresses this node accepted from the store
 * @param peer               {@code host:port} of its peer flow service (TLS, client certificates), the address
 *                           {@code observe --cluster} dials; null when it serves none (no {@code peerPort}, or an
 *                           agent older than the field)
 */
public record ClusterNode(String name, List<String> addresses, List<String> cidrs, String version, long startTime,
                          boolean self, String state, long heartbeatAgeMillis, int endpoints, String peer) {
    public ClusterNode {
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
        cidrs = cidrs == null ? List.of() : List.copyOf(cidrs);
    }

    /** A node that serves no peer flow service. */
    public ClusterNode(String name, List<String> addresses, List<String> cidrs, String version, long startTime,
                       boolean self, String state, long heartbeatAgeMillis, int endpoints) {
        this(name, addresses, cidrs, version, startTime, self, state, heartbeatAgeMillis, endpoints, null);
    }
}
