package io.septum.api.policy;

import java.util.Collection;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Where a {@link PolicySource} offers its policies; implemented by the policy bundle over the
 * {@link PolicyRepository}. Each offer is one policy under its own origin. Calls may come from any thread; after the
 * source is closed they are ignored.
 */
@ProviderType
public interface PolicySink {
    /**
     * The object behind {@code offer.origin()} exists or changed: validate its document and apply it, all or nothing.
     * An offer identical to what is in force under that origin (a resync, a status-only update) makes no revision.
     * Applying clears an earlier rejection of that origin.
     *
     * @return true when a new repository revision was made
     * @throws PolicyValidationException when the document does not validate: nothing is applied, whatever version of
     *                                   that origin was in force stays, and the refusal is recorded so that
     *                                   {@code policy list} shows it ({@link PolicyRepository#rejected()}); the
     *                                   source may also tell its own users (a Kubernetes Event)
     * @throws IllegalArgumentException  when the origin does not start with the source's {@code name() + ":"}
     */
    boolean upsert(PolicyOffer offer) throws PolicyValidationException;

    /**
     * The object behind {@code origin} is gone: its policy is deleted (never a same-named policy of another origin)
     * and its rejection, if any, forgotten.
     *
     * @throws IllegalArgumentException when the origin does not start with the source's {@code name() + ":"}
     */
    void remove(String origin);

    /**
     * A full listing: every policy and every recorded rejection of this source whose origin is not in
     * {@code liveOrigins} is gone. Call it only with the whole truth (after every watch has listed).
     */
    void resync(Collection<String> liveOrigins);
}
