package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The figure in docs/benchmarks.md: the catastrophic pattern against its 56-character path, with the engine
 * Septum used before ({@code java.util.regex}, full match as the policy engine did) and with {@link L7Regex}.
 * Prints only; it takes tens of seconds because of the old engine, so it runs only when asked:
 * {@code -Dtest=L7RegexBenchmarkTest -Dseptum.bench.regex=true}.
 */
@EnabledIfSystemProperty(named = "septum.bench.regex", matches = "true")
class L7RegexBenchmarkTest {
    @Test
    void catastrophicPathOldEngineAgainstRe2() throws Exception {
        String regex = "/api/(.*a){8}";
        String path = "/api/" + "a".repeat(50) + "!";

        Pattern old = Pattern.compile(regex);
        long t = System.nanoTime();
        boolean oldMatched = old.matcher(path).matches();
        long oldNanos = System.nanoTime() - t;

        L7Regex re2 = L7Regex.compile(regex);
        t = System.nanoTime();
        boolean re2Matched = re2.matchesWhole(path);
        long firstNanos = System.nanoTime() - t;
        long[] runs = new long[1001];
        for (int i = 0; i < runs.length; i++) {
            t = System.nanoTime();
            re2.matchesWhole(path);
            runs[i] = System.nanoTime() - t;
        }
        Arrays.sort(runs);
        assertEquals(oldMatched, re2Matched, "both engines give the same answer");

        System.out.printf("pattern %s, path %s (%d characters), match: %s%n", regex, path, path.length(), re2Matched);
        System.out.printf("java.util.regex (before): %.2f s%n", oldNanos / 1e9);
        System.out.printf("RE2/J (now): first call %.0f us; median of %d %.1f us, max %.1f us%n", firstNanos / 1e3,
                runs.length, runs[runs.length / 2] / 1e3, runs[runs.length - 1] / 1e3);
    }
}
