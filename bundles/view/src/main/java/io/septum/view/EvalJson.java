package io.septum.view;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.septum.api.policy.CaseResult;
import io.septum.api.policy.ProbeResult;
import java.util.List;

/**
 * The {@code -o json} shape of a test case's results: exactly case, results, passed, failed. {@code policy eval}
 * prints it in the CLI and in the shell, and {@code connectivity test} prints its real-packet results in it, so that
 * the three can be compared line by line.
 */
@JsonPropertyOrder({"case", "results", "passed", "failed"})
public record EvalJson(@JsonProperty("case") String caseName, List<Probe> results, int passed, int failed) {
    public static EvalJson of(CaseResult r) {
        return new EvalJson(r.name(), r.results().stream().map(Probe::of).toList(), r.passed(), r.failed());
    }

    /** One probe's line; an empty note is left out. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Probe(String from, String to, int port, String protocol, String expect, String verdict, String rule,
                        boolean pass, String note) {
        static Probe of(ProbeResult p) {
            return new Probe(p.from(), p.to(), p.port(), p.protocol(), p.expect(), p.verdict(), p.rule(), p.pass(),
                    p.note() == null || p.note().isEmpty() ? null : p.note());
        }
    }
}
