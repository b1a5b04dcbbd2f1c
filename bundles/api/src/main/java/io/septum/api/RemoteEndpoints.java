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

    /**
     * What changed since {@code version}, a version an earlier call returned; 0 (or any version this view did not
     * give, or one it no longer keeps the changes since) gets everything ({@link RemoteEndpointChanges#full}).
     * Applying the changes to what the earlier calls gave yields exactly {@link #list()} as of the returned version.
     * The default, for views that keep no history, always gives everything.
     *
     * @since 2.4
     */
    default RemoteEndpointChanges changesSince(long version) {
        return RemoteEndpointChanges.everything(0, list());
    }

    /**
     * Whether the first listing of the other nodes' endpoints is in (Cilium's "ListDone"): before that, {@link #list()}
     * may be empty or partial and a remote peer would count as {@code world}. Listeners are called when it becomes
     * true. The default is for views that have nothing to wait for.
     *
     * @since 2.1
     */
    default boolean synced() {
        return true;
    }

    /** Called after each change (and when {@link #synced()} becomes true), on the cluster's thread; must not block. */
    void addListener(Runnable onChange);

    void removeListener(Runnable onChange);
}
