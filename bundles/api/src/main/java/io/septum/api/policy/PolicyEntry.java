package io.septum.api.policy;

/**
 * One entry of an endpoint's resolved policy, as the datapath stores it.
 *
 * @param direction direction seen from the endpoint
 * @param identity  remote identity; 0 means any
 * @param protocol  L4 protocol; ANY means every protocol and every port
 * @param port      first port, 0 = every port of the protocol; for ICMP and ICMPv6 the message type, exact (0 too)
 * @param endPort   last port (inclusive), equal to {@code port} for a single port, 0 when port is 0
 * @param action    allow, deny, or redirect to the L7 proxy
 * @param ruleId    the rule that produced it ({@link RuleRef#id()})
 * @param audit     from a policy in audit mode: a DENY lets the traffic pass and reports it as {@code AUDIT}; an
 *                  ALLOW with rule id 0 on identity 0 and every port is the audit default of a direction that only
 *                  audit-mode policies select (what no other entry decides passes as {@code AUDIT})
 */
public record PolicyEntry(Direction direction, long identity, Protocol protocol, int port, int endPort,
                          PolicyAction action, int ruleId, boolean audit) {
    public PolicyEntry(Direction direction, long identity, Protocol protocol, int port, int endPort,
                       PolicyAction action, int ruleId) {
        this(direction, identity, protocol, port, endPort, action, ruleId, false);
    }

    /** The audit default of a direction selected only by audit-mode policies. */
    public static PolicyEntry auditDefault(Direction direction) {
        return new PolicyEntry(direction, 0, Protocol.ANY, 0, 0, PolicyAction.ALLOW, 0, true);
    }

    public boolean isAuditDefault() {
        return audit && action == PolicyAction.ALLOW;
    }
}
