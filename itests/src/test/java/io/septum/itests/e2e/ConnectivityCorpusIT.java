package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
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
                tests.add(E2eSupport.evalOnly(agent, e, cannot.get()));
                continue;
            }
            if (E2eSupport.hasL7Probes(c) && !Boolean.getBoolean("septum.e2e.l7")) continue;
            tests.add(DynamicTest.dynamicTest(e.name(), () -> check(c)));
        }
        return tests.stream();
    }

    private void check(Path c) throws IOException {
        E2eSupport.Run real = agent.cli(java.time.Duration.ofSeconds(120), "connectivity", "test", "--case", c.toString(), "-o", "json");
        E2eSupport.assertSameAsEval(agent, c, real, "real packets");
        // the run removed what it made (over the API socket: a CLI process for it would add a second to every case)
        JsonNode endpoints = agent.get("/v1/endpoints");
        for (JsonNode ep : endpoints) {
            assertEquals(false, ep.path("netns").asText().contains("sept-c"), "leftover endpoint " + ep);
        }
        JsonNode policies = agent.get("/v1/policies");
        assertEquals(0, policies.size(), "leftover policies " + policies);
    }
}
