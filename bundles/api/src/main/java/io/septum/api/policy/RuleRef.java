package io.septum.api.policy;

/**
 * One rule of a policy, with the id the datapath reports in its verdicts.
 *
 * @param id        stable number of the rule (never 0)
 * @param policy    qualified name of its policy
 * @param section   {@code ingress}, {@code egress}, {@code ingressDeny} or {@code egressDeny}
 * @param index     its position in that section
 * @param hasL7     whether it carries L7 rules
 */
public record RuleRef(int id, String policy, String section, int index, boolean hasL7) {
    /** How verdicts name it: {@code default/rule1 ingress[0]}. */
    public String display() {
        return policy + " " + section + "[" + index + "]";
    }
}
