package io.septum.api.policy;

import java.util.Map;

/**
 * A policy kept in the cluster's store, which every node enforces (the model of {@code septum policy list --cluster}).
 *
 * @param namespace its namespace, empty for a cluster-wide kind
 * @param name      its name
 * @param kind      CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy
 * @param revision  the store's revision of its last change
 * @param realized  node name to the revision of this policy that node has realised in its datapath (a node that
 *                  shows an older revision, or is missing, has not caught up yet)
 */
public record ClusterPolicy(String namespace, String name, String kind, long revision, Map<String, Long> realized) {
    public ClusterPolicy {
        namespace = namespace == null ? "" : namespace;
        realized = realized == null ? Map.of() : Map.copyOf(realized);
    }

    public String qualifiedName() {
        return namespace.isEmpty() ? name : namespace + "/" + name;
    }
}
