package io.septum.api.policy;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The policy repository's history: every change with its revision, time, author and diff, kept across restarts,
 * and rollback of one policy to what it was at an earlier revision.
 *
 * @since 1.6
 */
@ProviderType
public interface PolicyHistory {
    /**
     * The changes of the named policy ({@code namespace} empty for cluster-wide ones), or of every policy when
     * {@code name} is null; newest first, at most {@code limit} of them ({@code limit <= 0}: all that are kept).
     */
    List<PolicyRevision> history(String namespace, String name, int limit);

    /**
     * Puts the named policy back as it was right after {@code revision}, as one new change: the document it had
     * then, or no policy if it did not exist then. The document is validated again first; nothing changes when it
     * no longer validates. Returns the new repository revision.
     *
     * @throws java.util.NoSuchElementException when the history knows no such policy
     * @throws IllegalArgumentException          when {@code revision} is not a revision the repository has had
     * @throws IllegalStateException             when the policy already is as it was then
     * @throws PolicyValidationException         when the old document no longer validates
     */
    long rollback(String namespace, String name, long revision, String author) throws PolicyValidationException;

    /**
     * Stages or promotes one policy: sets its {@value PolicyModes#ANNOTATION} annotation to {@code mode}
     * ({@value PolicyModes#AUDIT}: its would-be drops pass and show as {@code AUDIT} flows; {@value PolicyModes#ENFORCE}:
     * it drops), as one new change recorded with the action {@code stage} or {@code promote}. The stored document is
     * rewritten from its parsed form (its comments and layout are not kept). Returns the new repository revision.
     *
     * @throws java.util.NoSuchElementException when no such policy is in force
     * @throws IllegalArgumentException          when {@code mode} is neither
     * @throws IllegalStateException             when the policy already is in that mode
     */
    long setMode(String namespace, String name, String mode, String author) throws PolicyValidationException;
}
