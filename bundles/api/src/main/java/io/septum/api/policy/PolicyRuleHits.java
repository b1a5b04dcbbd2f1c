package io.septum.api.policy;

/**
 * A rule with the packets the datapath counted for it over every endpoint it applies to: what {@code policy list
 * --rules} prints, so that rules that never match (0) stand out.
 *
 * @param rule the rule, with its policy
 * @param hits packets it decided, summed over endpoints and CPUs
 */
public record PolicyRuleHits(RuleRef rule, long hits) {
    /** The policy's namespace; empty for cluster-wide policies. */
    public String namespace() {
        int slash = rule.policy().indexOf('/');
        return slash < 0 ? "" : rule.policy().substring(0, slash);
    }

    /** The policy's name without its namespace. */
    public String name() {
        int slash = rule.policy().indexOf('/');
        return slash < 0 ? rule.policy() : rule.policy().substring(slash + 1);
    }
}
