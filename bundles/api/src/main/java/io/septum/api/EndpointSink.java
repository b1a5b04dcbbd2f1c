package io.septum.api;

import java.util.Collection;
import java.util.Map;
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

    /**
     * The labels of a namespace as the source's backend holds them (a Kubernetes Namespace object). Every endpoint
     * in that namespace, of any source, gets {@code k8s:io.cilium.k8s.namespace.labels.<key>=<value>} (so that
     * {@code namespaceSelector} works) and is regenerated; an empty map removes them. The same setting as
     * {@code septum namespace set}: the last one wins, and it is persisted.
     *
     * @throws IllegalArgumentException when the namespace name or a label is invalid; nothing is applied
     */
    void namespaceLabels(String namespace, Map<String, String> labels);

    /** The source lost or regained its backend (engine down, watch lost...). Shown in status. */
    default void health(SourceHealth health) {
    }
}
