package io.septum.api.datapath;

/**
 * The datapath's packet counter of one rule at one endpoint in one direction ({@code septum_policy_stats}).
 * Counters live as long as the endpoint's datapath state: they survive agent restarts and go with the endpoint.
 *
 * @param endpointId the endpoint whose policy decided
 * @param ruleId     the deciding rule ({@code RuleRef.id()}); 0 counts packets that no rule decided
 * @param direction  {@code INGRESS} or {@code EGRESS}, seen from the endpoint
 * @param packets    packets decided (first packets of connections and every packet that is no tracked reply)
 */
public record RuleHits(long endpointId, int ruleId, String direction, long packets) {
}
