package io.septum.api;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/** The endpoint manager: every endpoint of every source, their identities, and the ipcache. */
@ProviderType
public interface EndpointManager {
    List<Endpoint> list();

    /** By id, by {@code namespace/name}, or by bare name when it is unique. */
    Optional<Endpoint> get(String idOrName);

    /** Asks the named source to add an endpoint. */
    void add(String source, EndpointSpec spec);

    /** Asks the endpoint's source to delete it. */
    void delete(String idOrName);

    /** Health of every bound source. */
    List<SourceHealth> sources();

    /** IP prefix to identity, as pushed to the datapath. */
    List<IpcacheEntry> ipcache();
}
