package io.septum.api.service;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The services of the agent. Endpoint backends are resolved to their addresses and followed: a backend whose
 * endpoint leaves is taken out of the datapath (and comes back with the endpoint).
 */
@ProviderType
public interface ServiceManager {
    /**
     * Adds the service, or replaces the one with the same namespace and name (keeping its id).
     *
     * @throws ServiceValidationException when a field is invalid or the frontend is another service's; nothing changes
     */
    Service upsert(ServiceSpec spec) throws ServiceValidationException;

    /** Deletes by id, {@code namespace/name} or bare name (in {@code default}); false when there is none. */
    boolean delete(String idOrName);

    List<Service> list();

    /** By id, {@code namespace/name} or bare name (in {@code default}). */
    Optional<Service> get(String idOrName);
}
