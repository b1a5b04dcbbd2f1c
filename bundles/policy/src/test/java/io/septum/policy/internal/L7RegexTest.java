package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.junit.jupiter.api.Test;

/**
 * L7 regexes read as Cilium reads them (Go's RE2), against what {@code java.util.regex} did before: each
 * difference is shown both ways, with Java's answer checked too, so that the test says what changed.
 */
class L7RegexTest {
    private static L7Regex re2(String p) {
        return assertDoesNotThrow(() -> L7Regex.compile(p), p);
    }

    private static String refusal(String p) {
        return assertThrows(L7Regex.Invalid.class, () -> L7Regex.compile(p), p).getMessage();
    }

    private static boolean javaCompiles(String p) {
        try {
            Pattern.compile(p);
            return true;
        } catch (PatternSyntaxException e) {
            return false;
        }
    }

    @Test
    void javaOnlyConstructsAreRefusedWithRe2sReason() {
        String[][] cases = {
                {"/a(?=b)", "invalid or unsupported Perl syntax: `(?=`", "no lookahead or lookbehind"},
                {"/a(?!b).*", "invalid or unsupported Perl syntax: `(?!`", "no lookahead or lookbehind"},
                {"/(?<=a)b", "`(?<=a)b`", "no lookahead or lookbehind"},
                {"/(?<!a)b", "`(?<!a)b`", "no lookahead or lookbehind"},
                {"/(a)\\1", "invalid escape sequence: `\\1`", "no backreferences"},
                {"/(?<n>a)\\k<n>", "invalid escape sequence: `\\k`", "no backreferences"},
                {"/a++", "invalid nested repetition operator: `++`", "no possessive quantifiers"},
                {"/a*+", "invalid nested repetition operator: `*+`", "no possessive quantifiers"},
                {"/(?>ab)", "invalid or unsupported Perl syntax: `(?>`", "no atomic groups"},
                {"/a\\Z", "invalid escape sequence: `\\Z`", "\\z"},
                {"/\\p{Alpha}+", "invalid character class range: `\\p{Alpha}`", null},
                {"/\\p{IsGreek}", "invalid character class range: `\\p{IsGreek}`", null},
                {"(?x) GET", "invalid or unsupported Perl syntax: `(?x`", null},
                {"/\\h", "invalid escape sequence: `\\h`", null},
                {"/\\u0041", "invalid escape sequence: `\\u`", null},
                {"/a{1001}", "invalid repeat count: `{1001}`", null},
        };
        for (String[] c : cases) {
            assertTrue(javaCompiles(c[0]), "java.util.regex accepted " + c[0] + " (the difference this pins)");
            String why = refusal(c[0]);
            assertTrue(why.contains(c[1]), () -> c[0] + ": " + why);
            if (c[2] != null) assertTrue(why.contains(c[2]), () -> c[0] + ": " + why);
        }
    }

    @Test
    void re2OnlyConstructsAreAcceptedAndMatchAsInGo() {
        String[][] cases = { // pattern, a value it matches, a value it does not
                {"/v1/(?P<kind>items|orders)/[0-9]+", "/v1/orders/42", "/v1/users/42"},
                {"/users/{id}", "/users/{id}", "/users/7"},           // a brace that is no repetition is a literal
                {"/x{,3}", "/x{,3}", "/xxx"},
                {"/\\p{Greek}+", "/αβγ", "/abc"},
                {"/\\p{^Greek}+", "/abc", "/αβγ"},
                {"/\\p{Any}*", "/anything at all", "x"},
                {"/\\0", "/\0", "/0"},
        };
        for (String[] c : cases) {
            assertFalse(javaCompiles(c[0]), "java.util.regex refused " + c[0] + " (the difference this pins)");
            L7Regex r = re2(c[0]);
            assertTrue(r.matchesWhole(c[1]), c[0] + " matches " + c[1]);
            assertFalse(r.matchesWhole(c[2]), c[0] + " does not match " + c[2]);
        }
    }

    @Test
    void bothAcceptButTheMeaningDiffers() {
        // POSIX classes: RE2 knows them; Java reads [[:alpha:]] as the set of the characters ':', 'a', 'l', 'p', 'h'
        assertTrue(re2("/files/[[:alpha:]]+").matchesWhole("/files/abc"));
        assertFalse(Pattern.matches("/files/[[:alpha:]]+", "/files/abc"));
        assertTrue(re2("/n/[[:^digit:]]+").matchesWhole("/n/abc"));
        assertFalse(re2("/n/[[:^digit:]]+").matchesWhole("/n/a1"));
        // class intersection is Java's; in RE2 && are literals and the class ends at the first ]
        assertTrue(Pattern.matches("[a-z&&[^aeiou]]", "b"));
        assertFalse(re2("[a-z&&[^aeiou]]").matchesWhole("b"));
        assertTrue(re2("[a-z&&[^aeiou]]").matchesWhole("b]"));
        // Go's (?U) is "ungreedy", Java's is Unicode classes: either way a whole match is a whole match
        assertTrue(re2("(?U)/a+").matchesWhole("/aaa"));
    }

    @Test
    void theWholeValueMustMatchAsInCilium() {
        assertTrue(re2("/v1/request-landing").matchesWhole("/v1/request-landing"));
        assertFalse(re2("/v1/request-landing").matchesWhole("/v1/request-landing/extra"));
        assertFalse(re2("/v1/request-landing").matchesWhole("/x/v1/request-landing"));
        L7Regex alternation = re2("GET|HEAD");
        assertTrue(alternation.matchesWhole("GET"));
        assertTrue(alternation.matchesWhole("HEAD"));
        assertFalse(alternation.matchesWhole("GETX"), "the anchor holds the whole alternation, not its first branch");
        assertFalse(alternation.matchesWhole("XHEAD"));
        assertFalse(re2("GET").matchesWhole("get"), "methods are case-sensitive");
        assertTrue(re2("(?i)get").matchesWhole("GET"));
        assertTrue(re2("/a\\z").matchesWhole("/a"));
        assertEquals("/public/.*", re2("/public/.*").source());
    }

    /** Whether {@code r} matches {@code value}, failing after a generous 5 s; prints how long it took. */
    private static boolean judgedWithin5s(L7Regex r, String value, String what) {
        long[] took = new long[1];
        boolean matched = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            long t = System.nanoTime();
            boolean m = r.matchesWhole(value);
            took[0] = System.nanoTime() - t;
            return m;
        });
        System.out.printf("RE2/J judged %s against %s in %.1f us%n", r, what, took[0] / 1e3);
        return matched;
    }

    @Test
    void nestedQuantifiersAreJudgedInLinearTime() {
        // java.util.regex took 9 s (bare) to 30 s (policy eval) on this: every way of splitting 50 a's into 8
        String path = "/api/" + "a".repeat(50) + "!";
        assertEquals(56, path.length());
        L7Regex r = re2("/api/(.*a){8}");
        assertFalse(judgedWithin5s(r, path, "the 56-character path (first call)"));
        assertTrue(r.matchesWhole("/api/" + "a".repeat(50)));

        // the biggest pattern accepted, against the longest path the proxy reads (16 KiB of headers)
        String longPath = "/" + "a".repeat(16 * 1024 - 2) + "!";
        assertFalse(judgedWithin5s(re2("/(.{0,96}a){10}"), longPath, "a 16 KiB path"));
    }

    @Test
    void patternsThatWouldExhaustMemoryOrStackAreRefusedBeforeCompiling() {
        // Go refuses these too ("expression too large", "expression nests too deeply"); RE2/J would not, and
        // runs out of heap (the first) or stack (the second) trying
        String huge = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> refusal("/((a{1000}){1000}){1000}"));
        assertTrue(huge.startsWith("expression too large"), huge);
        assertTrue(refusal("/(a{100}){10}").startsWith("expression too large"));
        assertTrue(refusal("\\Q" + "x".repeat(20_000) + "\\E").startsWith("expression too large"));
        re2("/(a{100}){9}");
        re2("/a{990}");
        String deep = "(".repeat(5000) + "a" + ")".repeat(5000);
        assertTrue(refusal(deep).startsWith("expression nests too deeply"));
        assertTrue(refusal("(?:".repeat(1001) + "a" + ")".repeat(1001)).startsWith("expression nests too deeply"));
        re2("(?:".repeat(400) + "a" + ")".repeat(400));
        // what real policies write stays far below the bound
        for (String p : new String[] {"/v[0-9]+/items/[a-z]+", "/blobs/[a-f0-9]{64}", "(/[a-z0-9-]{1,63}){1,10}",
                "GET|HEAD|OPTIONS", "api\\.example\\.com(:[0-9]{1,5})?", "/users/{id}", "[[:alpha:]]{1,1000}"}) {
            assertNull(L7Regex.tooBig(p), p);
        }
    }
}
