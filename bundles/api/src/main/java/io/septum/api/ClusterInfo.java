package io.septum.api;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/** Cluster mode's status and node registry, for {@code septum cluster status} and {@code septum node list}. */
@ProviderType
public interface ClusterInfo {
    /** Asks the store now (a round trip or two); never throws: an unreachable store is a status. */
    ClusterStatus status();

    /** Every registered node, this one included, sorted by name. */
    List<ClusterNode> nodes();
}
