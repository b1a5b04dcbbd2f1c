package io.septum.api.policy;

import java.util.List;

/** Every probe of a case, and the counts. {@code -o json} prints exactly this. */
public record CaseResult(String name, List<ProbeResult> results, int passed, int failed) {
    public CaseResult {
        results = List.copyOf(results);
    }

    public static CaseResult of(String name, List<ProbeResult> results) {
        int ok = (int) results.stream().filter(ProbeResult::pass).count();
        return new CaseResult(name, results, ok, results.size() - ok);
    }
}
