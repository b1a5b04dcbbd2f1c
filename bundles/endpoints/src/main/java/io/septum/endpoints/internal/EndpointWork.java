package io.septum.endpoints.internal;

import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.NamedPort;
import io.septum.api.ReservedIdentity;
import java.util.List;

/**
 * One endpoint as a reconciliation pass saw it under the manager's lock: its generation, the labels its identity is
 * allocated for (or {@link #INIT_LABELS}), and its named ports, which its ingress rules resolve. Work is done outside
 * the lock and kept only if the endpoint's generation is still the one recorded here.
 */
record EndpointWork(ManagedEndpoint ep, long generation, Labels labels, List<NamedPort> ports) {
    /**
     * An endpoint whose identity is not allocated yet (a new label set while etcd is slow or unreachable) is never
     * left without a program: as in Cilium, it carries the init identity, enforced in both directions, so only what
     * policies selecting {@code reserved:init} allow gets through; peers see its addresses as init too.
     */
    static final Labels INIT_LABELS = Labels.of(Label.reserved(ReservedIdentity.INIT.labelName()));

    /** The endpoint as it is now; the caller holds the manager's lock. */
    EndpointWork(ManagedEndpoint ep) {
        this(ep, ep.generation, ep.labels, ep.namedPorts());
    }

    /** The endpoint with the init identity's program, while it waits for its own; the caller holds the lock. */
    static EndpointWork init(ManagedEndpoint ep) {
        return new EndpointWork(ep, ep.generation, INIT_LABELS, ep.namedPorts());
    }

    /** The endpoint waits for its identity and gets the init identity's program meanwhile. */
    boolean init() {
        return labels.equals(INIT_LABELS);
    }
}
