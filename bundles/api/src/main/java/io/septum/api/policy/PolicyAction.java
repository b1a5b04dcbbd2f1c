package io.septum.api.policy;

/** What a policy entry does with matching traffic. REDIRECT sends it to the L7 proxy. */
public enum PolicyAction {
    ALLOW, DENY, REDIRECT
}
