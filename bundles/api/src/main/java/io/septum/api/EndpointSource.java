package io.septum.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The SPI of endpoint-source bundles (netns, docker, cgroup, libvirt, kubernetes). Register an implementation
 * as an OSGi service; the endpoint manager picks it up (whiteboard) and calls {@link #open(EndpointSink)}.
 * When the service goes away, its endpoints become {@code disconnected}.
 *
 * <p>A source knows nothing of policy or BPF. It emits only labels of its own source ({@link #name()}). A source
 * that also takes endpoints from the operator ({@code septum endpoint add/delete}) implements
 * {@link EditableEndpointSource}; the others report only what their backend runs.
 */
@ConsumerType
public interface EndpointSource {
    /** The label source this source emits, e.g. {@code netns}. */
    String name();

    /** Starts reporting endpoints to {@code sink}. Must not block: watches go on the source's own threads. */
    void open(EndpointSink sink);

    /** Stops reporting. */
    void close();
}
