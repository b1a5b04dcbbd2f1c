package io.septum.api.policy;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/** The agent's persisted, revisioned policies. Every change is all-or-nothing. */
@ProviderType
public interface PolicyRepository {
    /** Validates every document, then applies all of them, or none. */
    ImportResult importPolicies(String origin, String text) throws PolicyValidationException;

    List<PolicyInfo> list();

    Optional<PolicyInfo> get(String namespace, String name);

    /** Deletes by name; {@code namespace} null or empty for cluster-wide ones. Returns the new revision. */
    long delete(String namespace, String name);

    /**
     * {@link #importPolicies(String, String)} on behalf of {@code author} (a unix user, a policy source), which the
     * history records ({@link PolicyHistory}). Without a history, the author is not kept.
     *
     * @since 1.6
     */
    default ImportResult importPolicies(String origin, String text, String author) throws PolicyValidationException {
        return importPolicies(origin, text);
    }

    /**
     * {@link #delete(String, String)} on behalf of {@code author}.
     *
     * @since 1.6
     */
    default long delete(String namespace, String name, String author) {
        return delete(namespace, name);
    }

    long revision();

    PolicySet current();

    EnforcementMode mode();

    /**
     * Records that {@code rejected.origin()} offered a policy that did not validate, replacing an earlier record of
     * that origin. Nothing is applied; {@link #rejected()} lists it until {@link #clearRejected(String)}.
     */
    default void reportRejected(RejectedPolicy rejected) {
    }

    /** Forgets the rejection recorded for {@code origin} (its object was fixed or deleted). */
    default void clearRejected(String origin) {
    }

    /** The rejections recorded now (kept in memory: their sources report them again after a restart). */
    default List<RejectedPolicy> rejected() {
        return List.of();
    }
}
