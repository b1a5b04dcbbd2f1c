package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Set;

/**
 * Reads DNS name selectors, the same shape in {@code toFQDNs} and in a {@code toPorts} entry's {@code rules.dns}:
 * a list of {@code {matchName: api.example.com}} or {@code {matchPattern: "*.example.com"}}, one of the two in
 * each entry ({@link FqdnMatcher} says what they match).
 */
final class DnsRuleReader {
    private static final Set<String> FIELDS = Set.of("matchName", "matchPattern");

    private DnsRuleReader() {
    }

    /** Reads the list at {@code path} into {@code out}; false (with errors) when anything is wrong. */
    static boolean read(Diagnostics diag, JsonNode list, String path, List<FqdnMatcher> out) {
        if (!diag.isList(list, path)) return false;
        int errs = diag.count();
        diag.eachObject(list, path, "{matchName: NAME} or {matchPattern: PATTERN}", FIELDS, (p, e) -> {
            JsonNode name = e.get("matchName");
            JsonNode pattern = e.get("matchPattern");
            boolean hasName = name != null && !name.isNull();
            boolean hasPattern = pattern != null && !pattern.isNull();
            if (hasName == hasPattern) {
                diag.error(p, hasName ? "give matchName or matchPattern, not both" : "needs matchName or matchPattern");
                return;
            }
            String f = hasName ? "matchName" : "matchPattern";
            JsonNode v = hasName ? name : pattern;
            if (!v.isTextual()) {
                diag.error(join(p, f), "expected a string, found " + nodeType(v));
                return;
            }
            String problem = FqdnMatcher.problem(v.asText(), hasPattern);
            if (problem != null) {
                diag.error(join(p, f), f + " " + problem);
                return;
            }
            out.add(hasName ? FqdnMatcher.name(v.asText()) : FqdnMatcher.pattern(v.asText()));
        });
        return diag.count() == errs;
    }
}
