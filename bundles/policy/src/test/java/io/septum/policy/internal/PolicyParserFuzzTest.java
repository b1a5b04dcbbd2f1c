package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.septum.api.Identity;
import io.septum.api.Labels;
import io.septum.api.ReservedIdentity;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.Protocol;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Fuzz target for the CNP/CCNP/KNP parser ({@link PolicyEngineImpl#parse}): any text either compiles into a policy
 * set that can be resolved and decided, or is refused with a {@link PolicyValidationException} whose every error
 * says why. Any other exception is a finding. Seeds: the policies of every corpus case, own and shared, valid and
 * invalid ({@code PolicyParserFuzzTestInputs/parse/}); without {@code JAZZER_FUZZ} only the seeds run.
 */
class PolicyParserFuzzTest {
    private final PolicyEngine engine = new PolicyEngineImpl();
    private final Labels subject = Labels.parse(List.of("k8s:app=db", "k8s:io.kubernetes.pod.namespace=default"), "any");
    private final List<Identity> universe = List.of(ReservedIdentity.WORLD.identity(), ReservedIdentity.HOST.identity(),
            new Identity(300, subject.asStrings(), false));

    @FuzzTest(maxDuration = "10m")
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        PolicySet set;
        try {
            set = engine.parse("fuzz", text);
        } catch (PolicyValidationException e) {
            assertFalse(e.errors().isEmpty(), "a refusal names at least one error");
            e.errors().forEach(er -> assertTrue(er.reason() != null && !er.reason().isBlank(), "an error says why"));
            return;
        }
        assertNotNull(set.resolve(subject, universe, EnforcementMode.DEFAULT));
        for (Direction d : Direction.values()) {
            assertNotNull(set.decide(d, subject, subject, 80, Protocol.TCP, EnforcementMode.DEFAULT));
        }
        assertNotNull(set.cidrPrefixes());
    }
}
