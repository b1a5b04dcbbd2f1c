package io.septum.api.policy;

/**
 * One entry of an endpoint's resolved policy, as the datapath stores it.
 *
 * @param direction direction seen from the endpoint
 * @param identity  remote identity; 0 means any
 * @param protocol  L4 protocol; ANY means every protocol and every port
 * @param port      first port, 0 = every port of the protocol
 * @param endPort   last port (inclusive), equal to {@code port} for a single port, 0 when port is 0
 * @param action    allow, deny, or redirect to the L7 proxy
 * @param ruleId    the rule that produced it ({@link RuleRef#id()})
 */
public record PolicyEntry(Direction direction, long identity, Protocol protocol, int port, int endPort,
                          PolicyAction action, int ruleId) {
}
