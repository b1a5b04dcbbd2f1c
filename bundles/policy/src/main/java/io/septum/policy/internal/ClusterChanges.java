package io.septum.policy.internal;

import io.septum.api.policy.ClusterPolicies;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyValidationException;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Stage, promote and roll back of a node's copy of a cluster policy, done where the policy lives: in the cluster's
 * store, so that every node gets the change (this one too, as it imports what the store holds). The caller learns
 * the revision at which this node enforces it; the store's write and this node's import are two steps, so a change
 * the store took but this node has not imported within {@link #WAIT} is reported as such, not as a failure.
 */
final class ClusterChanges {
    static final Duration WAIT = Duration.ofSeconds(15);

    /** This node's copy of a policy, and the repository's revision. */
    interface Local {
        Optional<PolicyInfo> get(String namespace, String name);

        long revision();
    }

    private final Supplier<ClusterPolicies> store;
    private final Local local;

    ClusterChanges(Supplier<ClusterPolicies> store, Local local) {
        this.store = store;
        this.local = local;
    }

    static boolean isClusterCopy(String origin) {
        return origin != null && origin.startsWith(ClusterPolicies.ORIGIN_PREFIX);
    }

    /**
     * The store, or the refusal that says a node out of cluster mode cannot change a cluster policy.
     *
     * @param origin the cluster origin of the copy (now, or at the revision rolled back to)
     * @param shown  the policy as the refusal names it
     */
    private ClusterPolicies store(String origin, String shown, String instead) {
        ClusterPolicies s = store.get();
        if (s == null) {
            ClusterPolicies.refuseLocalChange(origin, shown, "cluster mode is not running on this node (see septum"
                    + " status), so it cannot reach the store; " + instead);
        }
        return s;
    }

    /** Stores {@code document} (one policy) in the cluster; returns the revision at which this node has it. */
    long put(String namespace, String name, String document, String author, String origin, String shown,
             String instead) throws PolicyValidationException {
        store(origin, shown, instead).importPolicies(document, author);
        return await(shown, () -> local.get(namespace, name)
                .filter(p -> p.document().strip().equals(document.strip())).isPresent());
    }

    /** Removes the policy from the cluster's store; returns the revision at which this node no longer has it. */
    long remove(String namespace, String name, String origin, String shown, String instead) {
        if (!store(origin, shown, instead).delete(namespace, name)) {
            throw new IllegalStateException("cluster policy " + shown + " is no longer in the store; this node drops"
                    + " its copy when it next reads the store (septum status says when it cannot)");
        }
        return await(shown, () -> local.get(namespace, name).isEmpty());
    }

    private long await(String shown, Supplier<Boolean> applied) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!applied.get()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("cluster policy " + shown + " was changed in the store, but this node"
                        + " has not imported that change within " + WAIT.toSeconds() + " s, or another change has"
                        + " replaced it since (see septum status and septum policy list --cluster)");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for cluster policy " + shown, e);
            }
        }
        return local.revision();
    }
}
