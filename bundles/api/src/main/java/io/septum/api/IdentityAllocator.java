package io.septum.api;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Maps label sets to numeric identities. The same label set always gets the same number, across restarts.
 * Reserved label sets get their reserved numbers; {@code cidr:} label sets get node-local numbers.
 */
@ProviderType
public interface IdentityAllocator {
    /** Returns the identity of this label set, allocating and persisting a number if it has none. Counts a reference. */
    Identity allocate(Labels labels);

    /** Drops one reference; an identity with no references may be forgotten (its number is not reused soon). */
    void release(long id);

    Optional<Identity> get(long id);

    Optional<Identity> lookup(Labels labels);

    /** Every known identity, reserved ones included, sorted by number. */
    List<Identity> list();
}
