package io.septum.api.policy;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The SPI of bundles that offer policies kept somewhere else than the agent (the Kubernetes API, ...). Register an
 * implementation as an OSGi service; the policy bundle picks it up (whiteboard) and calls
 * {@link #open(PolicySink)}. What the source offers passes the same validation as {@code septum policy import} and
 * is persisted like it.
 *
 * <p>When the service goes away, its policies stay in force (a redeployed source must not open a window without
 * enforcement); the source's first {@link PolicySink#resync} after it comes back deletes those whose objects are
 * gone. A bundle that is also an {@link io.septum.api.EndpointSource} registers a second service object for this
 * SPI, so that each side can be closed on its own.
 */
@ConsumerType
public interface PolicySource {
    /**
     * The origin prefix this source owns: every origin it offers starts with {@code name() + ":"}, e.g. {@code k8s}
     * for {@code k8s:CiliumNetworkPolicy/prod/allow-db}. Names are unique among the bound policy sources.
     */
    String name();

    /** Starts offering policies to {@code sink}. Must not block: watches go on the source's own threads. */
    void open(PolicySink sink);

    /** Stops offering; calls to the sink after this are ignored. */
    void close();
}
