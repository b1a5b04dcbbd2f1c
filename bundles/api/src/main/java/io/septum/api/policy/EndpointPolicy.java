package io.septum.api.policy;

import java.util.List;

/**
 * An endpoint's resolved policy: whether each direction is enforced, and the entries. Traffic in an enforced
 * direction that no entry allows is dropped; a DENY entry always beats an ALLOW entry that also matches.
 */
public record EndpointPolicy(boolean ingressEnforced, boolean egressEnforced, List<PolicyEntry> entries) {
    public EndpointPolicy {
        entries = List.copyOf(entries);
    }

    public static final EndpointPolicy OPEN = new EndpointPolicy(false, false, List.of());
}
