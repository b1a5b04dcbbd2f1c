package io.septum.api.service;

import io.septum.api.EndpointSnapshot;
import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Whiteboard: told of the services as the {@link ServiceManager} resolved them, after every change of the services
 * or of the endpoints they were resolved against (what policies' {@code toServices} rules follow).
 *
 * @since 1.1
 */
@ConsumerType
@FunctionalInterface
public interface ServiceListener {
    /**
     * Called on one notification thread, soon after a listener is registered and then after each change; calls never
     * overlap, and a slow listener gets the newest state, not every one. Must not block for long.
     *
     * @param services  every service, backends resolved
     * @param endpoints the endpoint snapshot their endpoint backends were resolved against
     */
    void servicesChanged(List<Service> services, EndpointSnapshot endpoints);
}
