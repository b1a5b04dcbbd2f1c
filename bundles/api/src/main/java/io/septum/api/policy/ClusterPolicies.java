package io.septum.api.policy;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Cluster mode's policies: stored in the cluster's store, imported by every node into its {@link PolicyRepository}
 * (origin {@code cluster:<key>}) and enforced there beside the node's local policies. A cluster policy and a local
 * one may not share a name: importing either over the other is refused.
 */
@ProviderType
public interface ClusterPolicies {
    /**
     * Validates {@code text} (every document, all or nothing, as a local import), refuses a name a local policy of
     * this node has, and stores every policy in one transaction. Each node imports them as it sees them.
     */
    default List<ClusterPolicy> importPolicies(String text) throws PolicyValidationException {
        return importPolicies(text, null);
    }

    /**
     * As {@link #importPolicies(String)}, with who asked (the API caller's unix user, a UI session): stored with the
     * policies, so that every node's policy history names them ({@code AUTHOR via cluster (etcd)}); null or blank
     * when unknown.
     */
    List<ClusterPolicy> importPolicies(String text, String author) throws PolicyValidationException;

    /** Removes a cluster policy from the store (every node drops it); false when there is none of that name. */
    boolean delete(String namespace, String name);

    /** Every cluster policy with the revision each node has realised. */
    List<ClusterPolicy> list();
}
