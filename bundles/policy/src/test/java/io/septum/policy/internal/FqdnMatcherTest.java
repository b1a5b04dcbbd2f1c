package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class FqdnMatcherTest {
    @Test
    void matchNameIsExactButForCaseAndTheTrailingDot() {
        FqdnMatcher m = FqdnMatcher.name("API.example.com.");
        assertTrue(m.matches("api.example.com"));
        assertTrue(m.matches("api.EXAMPLE.com."));
        assertFalse(m.matches("xapi.example.com"));
        assertFalse(m.matches("api.example.com.evil"));
        assertFalse(m.matches(""));
    }

    @Test
    void aWildcardStandsForCharactersOfOneLabel() {
        FqdnMatcher m = FqdnMatcher.pattern("*.example.com");
        assertTrue(m.matches("api.example.com"));
        assertTrue(m.matches("a-b_c.example.com."));
        assertFalse(m.matches("example.com"), "needs a label before the dot");
        assertFalse(m.matches("a.b.example.com"), "one label only");
        assertFalse(m.matches("api.example.com.evil.net"));
        assertFalse(m.matches("apiXexample.com"), "the dot is literal");
        FqdnMatcher infix = FqdnMatcher.pattern("api-*.svc.example");
        assertTrue(infix.matches("api-.svc.example"), "* may be empty, as in Cilium");
        assertTrue(infix.matches("api-eu1.svc.example"));
        assertFalse(infix.matches("web-eu1.svc.example"));
    }

    @Test
    void aLoneWildcardMatchesEveryName() {
        FqdnMatcher m = FqdnMatcher.pattern("*");
        assertTrue(m.matches("a.b.c.example"));
        assertTrue(m.matches("localhost"));
        assertFalse(m.matches(""));
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
