package io.septum.api;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Cluster mode's view of the other nodes' endpoints: the endpoint manager writes them into the ipcache (source
 * {@code kvstore:<node>}) and adds their identities to those that policy selectors resolve against. Only entries
 * that passed the publishing node's checks (an address inside the CIDRs it registered) are listed.
 */
@ProviderType
public interface RemoteEndpoints {
    /** Every remote endpoint now known, sorted by address. */
    List<RemoteEndpoint> list();

    /** Called after each change, on the cluster's thread; must not block. */
    void addListener(Runnable onChange);

    void removeListener(Runnable onChange);
}
