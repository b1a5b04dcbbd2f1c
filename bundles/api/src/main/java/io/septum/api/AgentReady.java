package io.septum.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Marker service registered by the endpoint manager once the identity allocator, the policy repository and the
 * datapath are bound and the state a previous agent left (pinned maps, persisted endpoints) is restored. The
 * launcher reports start-to-ready time and notifies systemd when it appears.
 */
@ProviderType
public interface AgentReady {
    /** Epoch millis at which the agent became ready. */
    long readySince();
}
