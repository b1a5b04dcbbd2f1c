package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FqdnMatcherTest {
    /**
     * A matchName is exact but for case and the trailing dot; in a matchPattern a wildcard stands for the characters
     * of one label (none included, as in Cilium), and a lone wildcard for every name.
     */
    @ParameterizedTest(name = "{0} {1} ~ \"{2}\": {3}")
    @CsvSource(delimiter = '|', textBlock = """
            name    | API.example.com.  | api.example.com          | true  |
            name    | API.example.com.  | api.EXAMPLE.com.         | true  |
            name    | API.example.com.  | xapi.example.com         | false |
            name    | API.example.com.  | api.example.com.evil     | false |
            name    | API.example.com.  | ''                       | false |
            pattern | *.example.com     | api.example.com          | true  |
            pattern | *.example.com     | a-b_c.example.com.       | true  |
            pattern | *.example.com     | example.com              | false | needs a label before the dot
            pattern | *.example.com     | a.b.example.com          | false | one label only
            pattern | *.example.com     | api.example.com.evil.net | false |
            pattern | *.example.com     | apiXexample.com          | false | the dot is literal
            pattern | api-*.svc.example | api-.svc.example         | true  | * may be empty, as in Cilium
            pattern | api-*.svc.example | api-eu1.svc.example      | true  |
            pattern | api-*.svc.example | web-eu1.svc.example      | false |
            pattern | *                 | a.b.c.example            | true  |
            pattern | *                 | localhost                | true  |
            pattern | *                 | ''                       | false |
            """)
    void matches(String kind, String selector, String name, boolean matches, String why) {
        FqdnMatcher m = kind.equals("name") ? FqdnMatcher.name(selector) : FqdnMatcher.pattern(selector);
        assertEquals(matches, m.matches(name), why);
    }

    @Test
    void validation() {
        assertNull(FqdnMatcher.problem("api.example.com.", false));
        assertNull(FqdnMatcher.problem("*.example.com", true));
        assertTrue(FqdnMatcher.problem("*.example.com", false).contains("not a DNS name"));
        assertTrue(FqdnMatcher.problem("a..b", true).contains("not a DNS name pattern"));
        assertTrue(FqdnMatcher.problem("(a|b).com", true).contains("not a DNS name pattern"));
        assertTrue(FqdnMatcher.problem(".example.com", false).contains("not a DNS name"));
        assertTrue(FqdnMatcher.problem("a".repeat(300), false).contains("longer than 253"));
        assertEquals("is empty", FqdnMatcher.problem(" ", true));
    }
}
