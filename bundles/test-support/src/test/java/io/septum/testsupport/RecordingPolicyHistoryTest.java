package io.septum.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.septum.api.policy.PolicyRevision;
import java.util.List;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;

class RecordingPolicyHistoryTest {
    private static PolicyRevision revision(long n) {
        return new PolicyRevision(n, "2026-12-06T08:00:00Z", "root", "import", "added", "CiliumNetworkPolicy",
                "default/rule1", "a.yaml", null, List.of());
    }

    @Test
    void recordsEachCallAndAnswersWithWhatItWasGiven() {
        RecordingPolicyHistory h = new RecordingPolicyHistory(3, 7, revision(2), revision(1));
        assertEquals(2, h.history("default", "rule1", 0).size());
        assertEquals(List.of(revision(2)), h.history("", null, 1));
        assertEquals(3, h.rollback("default", "rule1", 1, "alice"));
        assertEquals(7, h.setMode("prod", "web", "audit", "bob"));
        assertEquals(List.of("history default|rule1|0", "history |null|1", "rollback default|rule1|1|alice",
                "mode prod|web|audit|bob"), h.calls);
        assertEquals("mode prod|web|audit|bob", h.lastCall());
    }

    @Test
    void aRollbackOfAPolicyWithNoRevisionIsRefusedAsTheRealHistoryRefusesIt() {
        RecordingPolicyHistory h = new RecordingPolicyHistory(3, 7, revision(1));
        NoSuchElementException e = assertThrows(NoSuchElementException.class, () -> h.rollback("default", "nope", 1, "root"));
        assertEquals("the policy history has no policy \"nope\"", e.getMessage());
        assertEquals("rollback default|nope|1|root", h.lastCall());
    }
}
