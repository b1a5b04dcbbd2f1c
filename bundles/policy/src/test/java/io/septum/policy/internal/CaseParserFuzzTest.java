package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.TestCase;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz target for the corpus case parser ({@link CaseParser}) and the evaluation of what it accepts: a case file
 * either parses and evaluates, or is refused with a {@link PolicyValidationException} whose every error says why.
 * Seeds: every case file of the own and the shared corpus ({@code CaseParserFuzzTestInputs/parse/}).
 */
class CaseParserFuzzTest {
    private final PolicyEngine engine = new PolicyEngineImpl();

    @FuzzTest(maxDuration = "10m")
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        try {
            TestCase tc = engine.parseCase("fuzz.yaml", text);
            assertNotNull(tc.name());
            assertNotNull(engine.evaluate(tc, EnforcementMode.DEFAULT));
        } catch (PolicyValidationException e) {
            assertFalse(e.errors().isEmpty(), "a refusal names at least one error");
            e.errors().forEach(er -> assertTrue(er.reason() != null && !er.reason().isBlank(), "an error says why"));
        }
    }
}
