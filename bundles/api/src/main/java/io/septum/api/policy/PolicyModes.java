package io.septum.api.policy;

/**
 * Per-policy enforcement modes, set by the metadata annotation {@value #ANNOTATION}: {@value #ENFORCE} (the default)
 * or {@value #AUDIT}. A policy in audit mode never drops: its denies, and the default deny of a direction that only
 * audit-mode policies select, report the traffic as {@code AUDIT} flows and let it pass. Its allows are allows.
 */
public final class PolicyModes {
    public static final String ANNOTATION = "policy.septum.io/mode";
    public static final String ENFORCE = "enforce";
    public static final String AUDIT = "audit";

    private PolicyModes() {
    }
}
