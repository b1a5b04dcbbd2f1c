package io.septum.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The endpoints and the ipcache as immutable snapshots, and a push when they change: what consumers (services,
 * the L7 proxy, the observer) read instead of polling the endpoint manager. A consumer reads {@link #snapshot()}
 * when it needs an answer now, and registers an {@link EndpointListener} to act on changes.
 */
@ProviderType
public interface EndpointIndex {
    /**
     * The newest snapshot; never null. Revision 0 ({@link EndpointSnapshot#EMPTY}) means the manager has not finished
     * its first pass yet (restored endpoints are not in it): a consumer that would act on "no endpoints" waits.
     */
    EndpointSnapshot snapshot();

    /**
     * Registers a listener. It is called soon after, with the newest snapshot, and then after every change, on
     * one notification thread: calls never overlap, and a slow listener gets the newest snapshot, not every one.
     */
    void addListener(EndpointListener listener);

    void removeListener(EndpointListener listener);
}
