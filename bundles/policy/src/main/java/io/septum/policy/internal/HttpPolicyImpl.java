package io.septum.policy.internal;

import io.septum.api.policy.Decision;
import io.septum.api.policy.HttpPolicy;
import io.septum.api.policy.HttpRequestInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * The HTTP rules governing one (subject, peer, port) path, gathered once per connection by
 * {@link PolicySetImpl#httpPolicy}: judging a request only walks this short list.
 */
final class HttpPolicyImpl implements HttpPolicy {
    /**
     * One HTTP rule with the name verdicts give it; {@code rule} null admits every request (an empty
     * {@code http} list, or an allow of this peer and port without HTTP rules: L3-only, L4, L3/L4 or a range).
     */
    record Entry(String name, int ruleId, HttpRule rule) {
        boolean matches(HttpRequestInfo request) {
            return rule == null || rule.matches(request);
        }
    }

    private final List<Entry> entries;
    private final int governingRuleId;

    /** @param entries in the policy set's rule order; the first decides among several that match */
    HttpPolicyImpl(List<Entry> entries) {
        this(entries, entries.isEmpty() ? 0 : entries.get(0).ruleId());
    }

    /**
     * @param governingRuleId the rule a denial names: the first rule with HTTP rules (a denial never comes from
     *                        an allow-all entry, which matches every request)
     */
    HttpPolicyImpl(List<Entry> entries, int governingRuleId) {
        if (entries.isEmpty()) throw new IllegalArgumentException("an HTTP policy needs at least one rule");
        this.entries = List.copyOf(entries);
        this.governingRuleId = governingRuleId;
    }

    @Override
    public Decision decide(HttpRequestInfo request) {
        for (Entry e : entries) {
            if (e.matches(request)) return new Decision(true, e.name(), e.ruleId(), true);
        }
        return new Decision(false, "no HTTP rule matches " + request.method() + " " + request.path(), governingRuleId,
                true);
    }

    List<Entry> entries() {
        return entries;
    }

    /** One line per rule, for {@code policy trace}. */
    List<String> describe() {
        List<String> out = new ArrayList<>();
        for (Entry e : entries) out.add(e.name() + ": " + (e.rule() == null ? "any request" : e.rule().describe()));
        return out;
    }

    @Override
    public String toString() {
        return "HttpPolicy" + describe();
    }
}
