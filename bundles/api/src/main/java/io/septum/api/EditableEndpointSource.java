package io.septum.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * An {@link EndpointSource} that also takes endpoints from the operator ({@code septum endpoint add} and
 * {@code delete}); register it as an {@link EndpointSource} service as usual. The endpoint manager offers operator
 * requests only to sources that implement this, and refuses them for the others with a message that names the
 * sources that take them, so a read-only source never sees such a call.
 */
@ConsumerType
public interface EditableEndpointSource extends EndpointSource {
    /**
     * Adds an endpoint by operator request and reports it through the sink. Throws
     * {@link IllegalArgumentException} when the spec is not one this source can run (the message says why).
     */
    void add(EndpointSpec spec);

    /**
     * Deletes an endpoint the operator added, by its {@link EndpointSpec#sourceId()}. Throws
     * {@link IllegalArgumentException} when this source cannot delete it (the message says why).
     */
    void delete(String sourceId);
}
