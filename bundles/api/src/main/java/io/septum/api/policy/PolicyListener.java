package io.septum.api.policy;

import org.osgi.annotation.versioning.ConsumerType;

/** Whiteboard: told after every change of the repository or the enforcement mode. */
@ConsumerType
public interface PolicyListener {
    void policyChanged(long revision, PolicySet current, EnforcementMode mode);
}
