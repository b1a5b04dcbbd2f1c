package io.septum.api;

import java.util.Collection;
import org.osgi.annotation.versioning.ProviderType;

/** Where an {@link EndpointSource} reports what it sees. Calls may come from any thread. */
@ProviderType
public interface EndpointSink {
    /** The endpoint exists or changed. */
    void upsert(EndpointSpec spec);

    /** The endpoint is gone. */
    void remove(String sourceId);

    /** A full listing: every endpoint of this source not in {@code liveSourceIds} is gone. */
    void resync(Collection<String> liveSourceIds);

    /** The source lost or regained its backend (engine down, watch lost...). Shown in status. */
    default void health(SourceHealth health) {
    }
}
