package io.septum.api.policy;

/**
 * The verdict of one direction, or of a whole path, for eval and trace.
 *
 * @param allowed  whether the traffic passes
 * @param rule     the deciding rule's display name, or a sentence such as
 *                 "no rule selects endpoint (default allow)" / "default deny: no rule allows"
 * @param ruleId   the deciding rule's id, 0 when no rule decided
 * @param l7       true when an L7 rule governs the traffic: the connection is allowed at L3/L4 and the L7 proxy
 *                 judges each request ({@link PolicySet#httpPolicy}); for an HTTP verdict, true as well
 */
public record Decision(boolean allowed, String rule, int ruleId, boolean l7) {
}
