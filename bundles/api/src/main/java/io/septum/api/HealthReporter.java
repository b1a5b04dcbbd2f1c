package io.septum.api;

import org.osgi.annotation.versioning.ConsumerType;

/** Whiteboard: every bundle with something to say in {@code septum status} registers one. */
@ConsumerType
public interface HealthReporter {
    ComponentStatus health();
}
