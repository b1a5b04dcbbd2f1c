package io.septum.api;

import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Cluster mode's allocator of endpoint identities, kept in the cluster's store so that the same label set gets the
 * same number on every node. The node's {@link IdentityAllocator} hands endpoint label sets to it and keeps what
 * it answers as its own table; reserved and {@code cidr:} label sets stay node-local.
 */
@ProviderType
public interface ClusterIdentities {
    /**
     * The cluster's number of this label set, allocating one and counting this node's reference. Throws
     * {@link IllegalStateException} saying why when the store cannot be reached and the label set is new here.
     */
    long allocate(Labels labels);

    /** Drops one of this node's references. */
    void release(long id);

    /** The labels of a number, whichever node allocated it. */
    Optional<Identity> get(long id);
}
