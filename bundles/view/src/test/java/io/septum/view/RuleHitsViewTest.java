package io.septum.view;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.septum.api.datapath.RuleHits;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyRuleHits;
import io.septum.api.policy.RuleRef;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code policy list --rules}: the API joins the counters with the rules, the view prints them. */
class RuleHitsViewTest {
    @Test
    void everyRuleIsARowInPolicyThenRuleOrderAndARuleThatNeverMatchedReadsZero() {
        RuleRef b1 = new RuleRef(20, "prod/b", "ingress", 0, false);
        RuleRef a2 = new RuleRef(11, "prod/a", "egress", 0, false);
        RuleRef a1 = new RuleRef(10, "prod/a", "ingress", 0, false);
        List<PolicyInfo> policies = List.of(
                new PolicyInfo("b", "prod", "CiliumNetworkPolicy", 2, "b.yaml", List.of(b1), List.of(), ""),
                new PolicyInfo("a", "prod", "CiliumNetworkPolicy", 1, "a.yaml", List.of(a2, a1), List.of(), ""));
        // Counters per endpoint and direction are summed; a counter of a rule that no longer exists is left out.
        List<RuleHits> counters = List.of(new RuleHits(1, 10, "INGRESS", 3), new RuleHits(2, 10, "INGRESS", 4),
                new RuleHits(1, 20, "INGRESS", 1), new RuleHits(1, 99, "INGRESS", 50));
        List<PolicyRuleHits> hits = PolicyRuleHits.of(policies, counters);
        assertEquals(List.of(new PolicyRuleHits(a1, 7), new PolicyRuleHits(a2, 0), new PolicyRuleHits(b1, 1)), hits);
        assertEquals("""
                POLICY   RULE ID   RULE         HITS
                prod/a   10        ingress[0]   7
                prod/a   11        egress[0]    0
                prod/b   20        ingress[0]   1
                """, Views.ruleHits(hits).render());
    }
}
