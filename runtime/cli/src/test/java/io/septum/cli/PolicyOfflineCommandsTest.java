package io.septum.cli;

import io.septum.testsupport.TestCorpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code septum policy validate} and {@code septum policy eval} on the project corpus (and the shared one if present), offline: no agent runs, the
 * policy engine comes from septum-policy through ServiceLoader, exactly as in the shipped CLI.
 */
class PolicyOfflineCommandsTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Where no agent listens: the offline commands must never need one. */
    private static final String NO_AGENT = "/nonexistent/septum.sock";

    @TempDir
    Path dir;

    /** The project's corpus, for the tests that name one of its files. */
    static Path corpus() {
        return TestCorpus.own();
    }

    static Stream<TestCorpus.Entry> invalid() {
        return TestCorpus.entries("invalid").stream();
    }

    static Stream<TestCorpus.Entry> nonL7Cases() {
        List<TestCorpus.Entry> out = TestCorpus.entries("cases").stream().filter(e -> !isL7(e.path())).toList();
        if (out.stream().filter(e -> e.name().startsWith("own/")).count() < 5) {
            throw new IllegalStateException("too few corpus cases: " + out);
        }
        return out.stream();
    }

    static boolean isL7(Path f) {
        try {
            for (JsonNode p : YAML.readTree(f.toFile()).path("probes")) if (p.has("http")) return true;
            return false;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void validateRejectsEveryInvalidFileWithThePromisedWords(TestCorpus.Entry entry) throws IOException {
        Path file = entry.path();
        JsonNode c = YAML.readTree(file.toFile());
        Path policies = dir.resolve(file.getFileName());
        Files.writeString(policies, c.get("policies").asText());
        CliRun r = CliRun.run("--socket", NO_AGENT, "policy", "validate", policies.toString());
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains(policies.toString()), "the error names the file: " + r);
        for (JsonNode want : c.get("error_contains")) {
            assertTrue(r.err().contains(want.asText()), "stderr lacks \"" + want.asText() + "\": " + r);
        }
        assertFalse(r.err().contains("internal error"), r.toString());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("nonL7Cases")
    void evalPassesEveryNonL7CaseWithTheJsonShape(TestCorpus.Entry entry) throws IOException {
        Path file = entry.path();
        CliRun r = CliRun.run("--socket", NO_AGENT, "policy", "eval", file.toString(), "-o", "json");
        assertEquals(0, r.code(), r.toString());
        JsonNode j = JSON.readTree(r.out());
        assertEquals(Set.of("case", "results", "passed", "failed"), names(j), r.out());
        assertEquals("case", j.fieldNames().next(), "the case comes first, as documented");
        assertEquals(YAML.readTree(file.toFile()).get("name").asText(), j.get("case").asText());
        assertTrue(j.get("results").isArray());
        int probes = YAML.readTree(file.toFile()).get("probes").size();
        assertEquals(probes, j.get("results").size());
        for (int i = 0; i < probes; i++) {
            JsonNode p = j.get("results").get(i);
            // a probe of a named port gets a note with the number it resolved to, one with a lookup a note on
            // the lookup; others have none
            JsonNode probe = YAML.readTree(file.toFile()).get("probes").get(i);
            boolean named = !probe.path("port").asText().matches("\\d*");
            boolean lookup = probe.has("dns");
            Set<String> fields = new java.util.HashSet<>(Set.of("from", "to", "port", "protocol", "expect", "verdict",
                    "rule", "pass"));
            if (named || lookup) fields.add("note");
            assertEquals(fields, names(p), p.toString());
            if (named) assertTrue(p.get("note").asText().startsWith("port "), p.toString());
            if (lookup) assertTrue(p.get("note").asText().startsWith("DNS lookup of " + probe.get("dns").asText()),
                    p.toString());
            assertTrue(p.get("port").isInt() && p.get("pass").isBoolean(), p.toString());
            assertTrue(p.get("pass").asBoolean(), p.toString());
        }
        assertEquals(probes, j.get("passed").asInt());
        assertEquals(0, j.get("failed").asInt());
    }

    @Test
    void evalPrintsOneRowPerProbeAndASummary() {
        Path c = corpus().resolve("cases/starwars-l3l4.yaml");
        CliRun r = CliRun.run("--socket", NO_AGENT, "policy", "eval", c.toString());
        assertEquals(0, r.code(), r.toString());
        String[] lines = r.out().split("\n");
        assertTrue(lines[0].startsWith("FROM") && lines[0].contains("VERDICT") && lines[0].contains("RESULT"), r.out());
        assertTrue(lines[lines.length - 1].matches("\\d+ passed, 0 failed"), r.out());
        assertTrue(r.out().contains("80/TCP"), r.out());
    }

    @Test
    void evalJudgesL7ProbesAtL7() throws IOException {
        CliRun r = CliRun.run("policy", "eval", corpus().resolve("cases/starwars-l7.yaml").toString(), "-o", "json");
        assertEquals(0, r.code(), r.toString());
        JsonNode results = JSON.readTree(r.out()).get("results");
        for (JsonNode p : results) {
            assertTrue(p.has("note") && !p.get("note").asText().isEmpty(), "an L7 probe says how it was judged: " + p);
        }
        assertEquals("default/rule1 ingress[0] http[0]", results.get(0).get("rule").asText());
        assertEquals("no HTTP rule matches PUT /v1/exhaust-port", results.get(2).get("rule").asText());
        assertEquals("L7 PUT /v1/exhaust-port: HTTP 403 Access denied", results.get(2).get("note").asText());
    }

    @Test
    void evalJudgesEveryTcpProbeAsTheGivenHttpRequest() throws IOException {
        String c = corpus().resolve("cases/starwars-l7.yaml").toString();
        CliRun r = CliRun.run("policy", "eval", c, "--http-method", "PUT", "--http-path", "/v1/exhaust-port",
                "--http-header", "X-Has-Force: true", "-o", "json");
        assertEquals(1, r.code(), "the case expects some allows: " + r);
        JsonNode results = JSON.readTree(r.out()).get("results");
        for (int i = 0; i < 5; i++) {
            JsonNode p = results.get(i);
            assertEquals("deny", p.get("verdict").asText(), p.toString());
            assertEquals("no HTTP rule matches PUT /v1/exhaust-port", p.get("rule").asText(), p.toString());
        }
        assertEquals("default deny: no rule allows", results.get(5).get("rule").asText(), "xwing is dropped at L3/L4");
        r = CliRun.run("policy", "eval", c, "--http-method", "POST", "--http-path", "/v1/request-landing");
        assertTrue(r.out().contains("default/rule1 ingress[0] http[0] (L7 POST /v1/request-landing: allowed)"), r.out());
        r = CliRun.run("policy", "eval", c, "--http-method", "POST", "--http-path", "no-slash");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--http-path \"no-slash\" must start with /"), r.err());
        r = CliRun.run("policy", "eval", c, "--http-header", "NoColon");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("is not 'Name: value'"), r.err());
    }

    @Test
    void evalExitsOneWhenAProbeFailsAndTwoOnInvalidInput() throws IOException {
        String text = Files.readString(corpus().resolve("cases/starwars-l3l4.yaml"));
        // flip the first expectation: that probe must now fail
        Path flipped = dir.resolve("flipped.yaml");
        String f = text.contains("expect: allow") ? text.replaceFirst("expect: allow", "expect: deny")
                : text.replaceFirst("expect: deny", "expect: allow");
        Files.writeString(flipped, f);
        CliRun r = CliRun.run("policy", "eval", flipped.toString());
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.out().contains("FAIL"), r.out());
        assertTrue(r.out().strip().endsWith("1 failed"), r.out());

        Path broken = dir.resolve("broken.yaml");
        Files.writeString(broken, text.replace("apiVersion: \"cilium.io/v2\"", "apiVersion: \"cilium.io/v2\"\n  kind: [oops"));
        r = CliRun.run("policy", "eval", broken.toString());
        assertEquals(2, r.code(), r.toString());
        assertFalse(r.err().isBlank());

        r = CliRun.run("policy", "eval", dir.resolve("missing.yaml").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("no such file"), r.err());

        r = CliRun.run("policy", "eval", corpus().resolve("cases/starwars-l3l4.yaml").toString(), "--enforcement", "sometimes");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("expected default, always or never"), r.err());
    }

    @Test
    void enforcementNeverAllowsEverything() throws IOException {
        CliRun r = CliRun.run("policy", "eval", corpus().resolve("cases/starwars-l3l4.yaml").toString(),
                "--enforcement", "never", "-o", "json");
        for (JsonNode p : JSON.readTree(r.out()).get("results")) assertEquals("allow", p.get("verdict").asText(), p.toString());
    }

    @Test
    void validateAcceptsValidFilesAndStdin() throws IOException {
        String good = YAML.readTree(corpus().resolve("cases/starwars-l3l4.yaml").toFile()).get("policies").asText();
        Path f = dir.resolve("good.yaml");
        Files.writeString(f, good);
        CliRun r = CliRun.run("policy", "validate", f.toString());
        assertEquals(0, r.code(), r.toString());
        assertEquals("", r.err());
        r = CliRun.runWithInput(good, "policy", "validate", "-", "-o", "json");
        assertEquals(0, r.code(), r.toString());
        assertTrue(JSON.readTree(r.out()).get(0).get("valid").asBoolean());
    }

    @Test
    void validateReportsEveryBadFileNotJustTheFirst() throws IOException {
        List<Path> files = invalid().limit(3).map(TestCorpus.Entry::path).toList();
        List<String> args = new ArrayList<>(List.of("policy", "validate"));
        for (Path p : files) {
            Path t = dir.resolve(p.getFileName());
            Files.writeString(t, YAML.readTree(p.toFile()).get("policies").asText());
            args.add(t.toString());
        }
        CliRun r = CliRun.run(args.toArray(String[]::new));
        assertEquals(2, r.code());
        for (Path p : files) assertTrue(r.err().contains(dir.resolve(p.getFileName()).toString()), r.err());
    }

    @Test
    void importOfSeveralFilesChecksThemAllBeforeSendingAny() throws IOException {
        Path good = dir.resolve("good.yaml");
        Files.writeString(good, YAML.readTree(corpus().resolve("cases/starwars-l3l4.yaml").toFile()).get("policies").asText());
        Path bad = dir.resolve("bad-cidr.yaml");
        Files.writeString(bad, YAML.readTree(corpus().resolve("invalid/bad-cidr.yaml").toFile()).get("policies").asText());
        // no agent listens: had the good file been sent first, the error would be "cannot reach the agent"
        CliRun r = CliRun.run("--socket", NO_AGENT, "policy", "import", good.toString(), bad.toString());
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().startsWith(bad + ": document 1"), r.err());
        assertTrue(r.err().contains("nothing was imported"), r.err());
        assertFalse(r.err().contains("cannot reach"), r.err());
    }

    private static Set<String> names(JsonNode n) {
        Set<String> s = new TreeSet<>();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) s.add(it.next());
        return s;
    }
}
