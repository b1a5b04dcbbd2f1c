package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
    void stop() throws IOException {
        try {
            // an exception no handler took is a handler's bug (the DNS proxy's read of its closed socket showed so)
            List<String> unhandled = agent == null || !Files.exists(agent.log) ? List.of()
                    : Files.readAllLines(agent.log).stream().filter(l -> l.contains("reached at the tail of the pipeline")).toList();
            assertEquals(List.of(), unhandled, "exceptions that reached the end of a Netty pipeline in the agent's log");
        } finally {
            if (agent != null) agent.close();
        }
    }

    @TestFactory
    Stream<DynamicTest> corpus() throws IOException {
        return E2eSupport.labCases(agent, e -> {
            if (E2eSupport.hasL7Probes(e.path()) && !Boolean.getBoolean("septum.e2e.l7")) return null;
            return DynamicTest.dynamicTest(e.name(), () -> check(e.path()));
        }).stream();
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
