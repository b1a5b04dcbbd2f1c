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
    /** The origin of a node's copy of a cluster policy: {@code cluster:<key in the store>}. */
    String ORIGIN_PREFIX = "cluster:";

    /**
     * An origin a local import gives (a file name, an API header) as stored: one that starts like a cluster policy's
     * gets {@code ./} before it (the same file), so that only the cluster's copies carry {@link #ORIGIN_PREFIX}.
     */
    static String localOrigin(String origin) {
        return origin != null && origin.startsWith(ORIGIN_PREFIX) ? "./" + origin : origin;
    }

    /**
     * Refuses a change of this node's copy of a cluster policy (origin {@link #ORIGIN_PREFIX}...): one node's copy
     * would differ from every other node's until the store's next change undid it. {@code instead} says what to do.
     *
     * @throws IllegalStateException when {@code origin} is a cluster policy's
     */
    static void refuseLocalChange(String origin, String policy, String instead) {
        if (origin != null && origin.startsWith(ORIGIN_PREFIX)) {
            throw new IllegalStateException("policy " + policy + " is a cluster policy (" + origin + "): a change on"
                    + " this node alone would differ from every other node until the store undid it; " + instead);
        }
    }

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
