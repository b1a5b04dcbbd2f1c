package io.septum.api.policy;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Whiteboard: told once a policy revision is realised, that is once every endpoint it changed has its new entries in
 * the datapath. The metrics bundle turns it into the realization-latency histogram.
 */
@ConsumerType
public interface PolicyRealizationListener {
    /**
     * @param revision       the repository revision now enforced
     * @param latencyNanos   from the repository's change notification to the last datapath write of that revision
     * @param endpoints      endpoints whose datapath state the revision changed
     */
    void realized(long revision, long latencyNanos, int endpoints);
}
