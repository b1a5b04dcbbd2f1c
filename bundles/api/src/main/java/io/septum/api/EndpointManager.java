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

    /**
     * Sets the labels of a namespace. Endpoints in it get {@code k8s:io.cilium.k8s.namespace.labels.<key>=<value>}
     * (so that namespaceSelector works) and are regenerated. An empty map removes them.
     */
    void setNamespaceLabels(String namespace, java.util.Map<String, String> labels);

    /** Namespace name to its labels. */
    java.util.Map<String, java.util.Map<String, String>> namespaceLabels();

    /**
     * Turns the endpoint's audit mode on or off (persisted): in audit mode its would-be drops pass and are reported
     * as {@code AUDIT} flows. Throws {@link java.util.NoSuchElementException} for an unknown endpoint.
     */
    Endpoint setAudit(String idOrName, boolean audit);

    /** IP prefix to identity, as pushed to the datapath. */
    List<IpcacheEntry> ipcache();
}
