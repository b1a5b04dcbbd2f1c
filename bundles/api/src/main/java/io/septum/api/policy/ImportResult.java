package io.septum.api.policy;

import java.util.List;

/** The outcome of a successful import: the new repository revision and the policies it added or replaced. */
public record ImportResult(long revision, List<String> policies) {
    public ImportResult {
        policies = List.copyOf(policies);
    }
}
