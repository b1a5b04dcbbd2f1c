package io.septum.api;

import org.osgi.annotation.versioning.ConsumerType;

/** Told of each change of the endpoints or the ipcache (see {@link EndpointIndex#addListener}). */
@ConsumerType
@FunctionalInterface
public interface EndpointListener {
    /** The newest snapshot. Must not block for long: every listener shares one notification thread. */
    void endpointsChanged(EndpointSnapshot snapshot);
}
