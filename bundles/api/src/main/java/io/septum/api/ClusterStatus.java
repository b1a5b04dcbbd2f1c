package io.septum.api;

import java.util.List;

/**
 * Cluster mode as this node sees it (the model of {@code septum cluster status}).
 *
 * @param mode           {@code standalone}, or {@code cluster}
 * @param clusterName    the cluster's name (endpoints carry it as {@code k8s:io.cilium.k8s.policy.cluster})
 * @param node           this node's name
 * @param etcdEndpoints  the store's client URLs
 * @param state          {@code ok}, {@code degraded} (enforcement goes on unchanged; see message), {@code connecting}
 *                       or {@code failed}
 * @param reachable      whether the store answered the last request
 * @param leader         the store's leader member id, as it reports it; empty when unknown
 * @param storeVersion   the store's version, as it reports it
 * @param lease          this node's lease id, hexadecimal; empty without one
 * @param storeRevision  the store's revision when asked
 * @param syncRevision   the last revision this node's watches applied
 * @param syncLag        {@code storeRevision - syncRevision}: how many changes the node is behind (0 is current)
 * @param remoteEndpoints other nodes' addresses in this node's ipcache
 * @param message        what is wrong, or a summary
 */
public record ClusterStatus(String mode, String clusterName, String node, List<String> etcdEndpoints, String state,
                            boolean reachable, String leader, String storeVersion, String lease, long storeRevision,
                            long syncRevision, long syncLag, int remoteEndpoints, String message) {
    public ClusterStatus {
        etcdEndpoints = etcdEndpoints == null ? List.of() : List.copyOf(etcdEndpoints);
    }

    /** What a node without cluster mode answers. */
    public static ClusterStatus standalone() {
        return new ClusterStatus("standalone", "", "", List.of(), "ok", false, "", "", "", 0, 0, 0, 0,
                "standalone: no etcdEndpoints in etc/io.septum.cluster.cfg");
    }
}
