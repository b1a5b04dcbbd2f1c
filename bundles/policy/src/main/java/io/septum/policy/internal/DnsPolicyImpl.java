package io.septum.policy.internal;

import io.septum.api.policy.Decision;
import io.septum.api.policy.DnsPolicy;
import java.util.ArrayList;
import java.util.List;

/**
 * The DNS rules governing one (subject, peer, port) path, gathered by {@link PolicySetImpl#dnsPolicy}: judging a
 * query only walks this short list.
 */
final class DnsPolicyImpl implements DnsPolicy {
    /** One DNS rule with the name verdicts give it; {@code matcher} null admits every name. */
    record Entry(String name, int ruleId, FqdnMatcher matcher) {
    }

    private final List<Entry> entries;

    /** @param entries the allow-all ones first, then the rules in the policy set's order; not empty */
    DnsPolicyImpl(List<Entry> entries) {
        if (entries.isEmpty()) throw new IllegalArgumentException("a DNS policy needs at least one rule");
        this.entries = List.copyOf(entries);
    }

    @Override
    public Decision decide(String name) {
        for (Entry e : entries) {
            if (e.matcher() == null || e.matcher().matches(name)) return new Decision(true, e.name(), e.ruleId(), true);
        }
        int governing = entries.stream().filter(e -> e.matcher() != null).findFirst().orElseThrow().ruleId();
        return new Decision(false, "no DNS rule matches " + name, governing, true);
    }

    /** One line per rule, for {@code policy trace}. */
    List<String> describe() {
        List<String> out = new ArrayList<>();
        for (Entry e : entries) out.add(e.name());
        return out;
    }

    @Override
    public String toString() {
        return "DnsPolicy" + describe();
    }
}
