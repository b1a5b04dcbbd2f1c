package io.septum.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The SPI of endpoint-source bundles (netns, docker, cgroup, libvirt, kubernetes). Register an implementation
 * as an OSGi service; the endpoint manager picks it up (whiteboard) and calls {@link #open(EndpointSink)}.
 * When the service goes away, its endpoints become {@code disconnected}.
 *
 * <p>A source knows nothing of policy or BPF. It emits only labels of its own source ({@link #name()}).
 */
@ConsumerType
public interface EndpointSource {
    /** The label source this source emits, e.g. {@code netns}. */
    String name();

    /** Starts reporting endpoints to {@code sink}. Must not block: watches go on the source's own threads. */
    void open(EndpointSink sink);

    /** Stops reporting. */
    void close();

    /** Adds an endpoint by operator request ({@code septum endpoint add}); sources that cannot refuse. */
    default void add(EndpointSpec spec) {
        throw new UnsupportedOperationException("source " + name() + " does not support endpoint add");
    }

    /** Deletes an endpoint added by operator request. */
    default void delete(String sourceId) {
        throw new UnsupportedOperationException("source " + name() + " does not support endpoint delete");
    }
}
