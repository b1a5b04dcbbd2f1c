package io.septum.api.policy;

import io.septum.api.datapath.RuleHits;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A rule with the packets the datapath counted for it over every endpoint it applies to: what {@code policy list
 * --rules} prints, so that rules that never match (0) stand out.
 *
 * @param rule the rule, with its policy
 * @param hits packets it decided, summed over endpoints and CPUs
 */
public record PolicyRuleHits(RuleRef rule, long hits) {
    /**
     * Joins the datapath's counters with the policies' rules: one entry per rule, in policy then rule order, 0 for a
     * rule that never matched. Counters of rules that no longer exist are left out.
     */
    public static List<PolicyRuleHits> of(List<PolicyInfo> policies, List<RuleHits> counters) {
        Map<Integer, Long> byRule = new HashMap<>();
        for (RuleHits c : counters) byRule.merge(c.ruleId(), c.packets(), Long::sum);
        List<PolicyRuleHits> out = new ArrayList<>();
        policies.stream().sorted(Comparator.comparing(PolicyInfo::qualifiedName)).forEach(p -> p.rules().stream()
                .sorted(Comparator.comparingInt(RuleRef::id))
                .forEach(r -> out.add(new PolicyRuleHits(r, byRule.getOrDefault(r.id(), 0L)))));
        return out;
    }

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
