package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.RejectedPolicy;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rejections a source reports are listed by origin, replaced and cleared, and never touch the policies in force. */
class RejectedPolicyTest {
    @TempDir
    Path state;

    @Test
    void reportedRejectionsAreListedReplacedAndClearedWithoutANewRevision() {
        PolicyRepositoryImpl r = new PolicyRepositoryImpl(state.resolve("policies"), EnforcementMode.DEFAULT,
                new PolicyEngineImpl());
        String origin = "k8s:CiliumNetworkPolicy/prod/bad";
        r.reportRejected(new RejectedPolicy(origin, "CiliumNetworkPolicy", "prod", "bad", "port 70000 > 65535", 1, "x"));
        r.reportRejected(new RejectedPolicy(origin, "CiliumNetworkPolicy", "prod", "bad", "second reason", 2, "y"));
        assertEquals(1, r.rejected().size(), "one entry per origin");
        assertEquals("second reason", r.rejected().get(0).reason());
        assertEquals(0, r.revision(), "a rejection applies nothing");
        assertTrue(r.list().isEmpty());
        PolicyInfo row = r.rejected().get(0).asPolicyInfo();
        assertEquals(List.of(RejectedPolicy.NOTE_PREFIX + "second reason"), row.notes());
        assertEquals("prod/bad", row.qualifiedName());
        r.clearRejected(origin);
        assertTrue(r.rejected().isEmpty());
    }
}
