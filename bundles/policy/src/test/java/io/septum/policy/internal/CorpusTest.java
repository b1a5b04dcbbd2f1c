package io.septum.policy.internal;

import io.septum.testsupport.TestCorpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.septum.api.policy.CaseResult;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.ProbeResult;
import io.septum.api.policy.TestCase;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

class CorpusTest {
    private final PolicyEngine engine = ServiceLoader.load(PolicyEngine.class).findFirst().orElseThrow();

    private static String table(CaseResult r) {
        return r.results().stream().map(p -> p.from() + " -> " + p.to() + " " + p.port() + "/" + p.protocol()
                + " expect " + p.expect() + " got " + p.verdict() + " (" + p.rule() + ")" + (p.pass() ? "" : "  <-- FAIL"))
                .collect(Collectors.joining("\n"));
    }

    @TestFactory
    Stream<DynamicTest> everyCasePasses() {
        return TestCorpus.cases().stream().map(e -> DynamicTest.dynamicTest(e.name(), () -> assertCasePasses(e.path())));
    }

    private void assertCasePasses(Path p) throws PolicyValidationException {
        TestCase tc = engine.parseCase(p.toString(), TestCorpus.read(p));
        assertFalse(tc.probes().isEmpty(), "case has no probes");
        CaseResult r = engine.evaluate(tc, EnforcementMode.DEFAULT);
        assertEquals(0, r.failed(), () -> p + "\n" + table(r));
        assertEquals(tc.probes().size(), r.passed());
    }

    @Test
    void starwarsL7IsJudgedAtL7() throws Exception {
        Path p = TestCorpus.own().resolve("cases/starwars-l7.yaml");
        CaseResult r = engine.evaluate(engine.parseCase(p.toString(), TestCorpus.read(p)), EnforcementMode.DEFAULT);
        assertEquals(0, r.failed(), () -> table(r));
        List<String> rules = r.results().stream().map(ProbeResult::rule).toList();
        assertEquals(List.of("default/rule1 ingress[0] http[0]", "default/rule1 ingress[0] http[0]",
                "no HTTP rule matches PUT /v1/exhaust-port", "no HTTP rule matches GET /v1/request-landing",
                "no HTTP rule matches POST /v1/request-landing/extra", "default deny: no rule allows"), rules, () -> table(r));
        assertEquals("L7 POST /v1/request-landing: allowed", r.results().get(0).note());
        assertEquals("L7 PUT /v1/exhaust-port: HTTP 403 Access denied", r.results().get(2).note());
        assertEquals("dropped at L3/L4: the request is never sent", r.results().get(5).note());
        assertTrue(engine.parse("x", engine.parseCase("c", TestCorpus.read(p)).policies()).policies().get(0).notes()
                .isEmpty(), "no \"not enforced\" note any more: the proxy enforces L7");
    }

    @TestFactory
    Stream<DynamicTest> everyInvalidFileIsRefusedWithItsSubstrings() {
        YAMLMapper m = new YAMLMapper();
        return TestCorpus.invalid().stream().map(f -> DynamicTest.dynamicTest(f.name(), () -> {
            Path p = f.path();
            JsonNode root = m.readTree(TestCorpus.read(p));
            String policies = root.get("policies").asText();
            List<String> expected = new ArrayList<>();
            root.get("error_contains").forEach(n -> expected.add(n.asText()));
            PolicyValidationException e = assertThrows(PolicyValidationException.class,
                    () -> engine.parse(p.getFileName().toString(), policies));
            String msg = e.errors().stream().map(er -> er.message()).collect(Collectors.joining("\n"));
            for (String s : expected) assertTrue(msg.contains(s), () -> "missing \"" + s + "\" in:\n" + msg);
        }));
    }
}
