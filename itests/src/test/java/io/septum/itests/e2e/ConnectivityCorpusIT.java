package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * Every case of the corpus passes through {@code septum connectivity test} (real packets; {@code http:} probes are
 * real requests judged by the agent's L7 proxy), and {@code policy eval} (offline) gives the same verdict for every
 * probe. {@code -Dseptum.e2e.l7=false} leaves the cases with {@code http:} probes out.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConnectivityCorpusIT {
    private E2eSupport.Agent agent;

    @BeforeAll
    void start() {
        agent = E2eSupport.Agent.start(E2eSupport.septum());
    }

    @AfterAll
    void stop() {
        if (agent != null) agent.close();
    }

    @TestFactory
    Stream<DynamicTest> corpus() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (E2eSupport.CorpusEntry e : E2eSupport.corpusFiles("cases")) {
            Path c = e.path();
            Optional<String> cannot = E2eSupport.labCannotProbe(c);
            if (cannot.isPresent()) {
                tests.add(DynamicTest.dynamicTest(e.name() + " (" + cannot.get() + ": no real packets)", () -> {
                    System.out.println(e.name() + ": the lab sends IPv4 TCP/UDP only; " + cannot.get()
                            + " are judged by policy eval and the datapath's packet tests");
                    assertEquals(0, agent.cli("policy", "eval", c.toString()).exit());
                }));
                continue;
            }
            if (hasL7Probes(c) && !Boolean.getBoolean("septum.e2e.l7")) continue;
            tests.add(DynamicTest.dynamicTest(e.name(), () -> check(c)));
        }
        return tests.stream();
    }

    private static boolean hasL7Probes(Path c) throws IOException {
        JsonNode tc = new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
                .readTree(c.toFile());
        for (JsonNode p : tc.path("probes")) if (p.has("http")) return true;
        return false;
    }

    private void check(Path c) {
        E2eSupport.Run real = agent.cli(java.time.Duration.ofSeconds(120), "connectivity", "test", "--case", c.toString(), "-o", "json");
        if (real.exit() != 0) agent.printLog();
        assertEquals(0, real.exit(), real.toString());
        JsonNode r = real.json();
        assertEquals(0, r.path("failed").asInt(-1), real.toString());
        assertEquals(r.path("results").size(), r.path("passed").asInt(), real.toString());

        E2eSupport.Run eval = agent.cli("policy", "eval", c.toString(), "-o", "json");
        assertEquals(0, eval.exit(), eval.toString());
        JsonNode e = eval.json();
        assertEquals(e.path("results").size(), r.path("results").size(), "same probes\n" + eval + real);
        for (int i = 0; i < e.path("results").size(); i++) {
            JsonNode a = e.path("results").get(i);
            JsonNode b = r.path("results").get(i);
            assertEquals(a.path("verdict").asText(), b.path("verdict").asText(),
                    "probe " + i + " " + a + " vs real packets " + b);
            assertEquals(a.path("rule").asText(), b.path("rule").asText(), "probe " + i + " rule column");
        }
        // the run removed what it made
        JsonNode endpoints = agent.cli("endpoint", "list", "-o", "json").json();
        for (JsonNode ep : endpoints) {
            assertEquals(false, ep.path("netns").asText().contains("sept-c"), "leftover endpoint " + ep);
        }
        JsonNode policies = agent.cli("policy", "list", "-o", "json").json();
        assertEquals(0, policies.size(), "leftover policies " + policies);
    }
}
