package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.testsupport.TestFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code kill -9} of the agent under traffic: the datapath keeps enforcing (the xwing stays dropped, the tiefighter
 * allowed, an established connection keeps flowing), and a restarted agent restores the same endpoints with the
 * same identities without a single wrong probe during its resync.
 */
class RestartIT {
    @Test
    void enforcementSurvivesKillNineAndRestartRestoresState() throws Exception {
        Path septum = E2eSupport.septum();
        Path work = Files.createTempDirectory("septum-e2e-restart");
        try (E2eSupport.Agent agent = E2eSupport.Agent.start(septum); E2eNet net = new E2eNet()) {
            StarWarsFleet fleet = StarWarsFleet.deploy(septum, agent, net);
            E2eNet.Node ds = fleet.deathstar();
            E2eNet.Node tie = fleet.tiefighter();

            Map<String, List<Long>> before = endpoints(agent);
            JsonNode identitiesBefore = agent.cli("identity", "list", "-o", "json").json();

            // an established connection that carries a line every 100 ms through everything that follows
            Path echoed = work.resolve("stream.out");
            Process stream = net.stream(tie, ds, 80, 900, 100, echoed);
            assertTrue(E2eSupport.await(Duration.ofSeconds(5), () -> lines(echoed) >= 3), "the stream flows");

            Prober prober = new Prober("e2e-prober", "before kill")
                    .allows("tiefighter -> deathstar:80", () -> fleet.tiefighterLands(net))
                    .denies("xwing -> deathstar:80", () -> fleet.xwingGetsThrough(net))
                    .start();
            try {
                prober.awaitRounds(2);
                prober.phase("agent killed");
                agent.kill9();
                assertFalse(agent.alive());
                int atKill = lines(echoed);
                prober.awaitRounds(3);
                assertTrue(E2eSupport.await(Duration.ofSeconds(5), () -> lines(echoed) > atKill + 5),
                        "the established connection flows while the agent is down");

                prober.phase("agent restarting");
                agent.restart();
                prober.phase("agent resynced");
                prober.awaitRounds(4);
            } finally {
                prober.stop();
            }
            assertTrue(prober.wrong().isEmpty(), "wrong probe outcomes:\n" + String.join("\n", prober.wrong()));
            int atReady = lines(echoed);
            assertTrue(E2eSupport.await(Duration.ofSeconds(5), () -> lines(echoed) > atReady + 5),
                    "the established connection still flows after the restart");
            assertTrue(stream.isAlive(), "the stream's connection is still open");
            List<String> got = Files.readAllLines(echoed);
            for (int i = 0; i < got.size(); i++) assertEquals("line-" + (i + 1), got.get(i), "no gap in the stream");

            assertEquals(before, endpoints(agent), "same endpoint ids and identities after the restart");
            JsonNode identitiesAfter = agent.cli("identity", "list", "-o", "json").json();
            for (JsonNode id : identitiesBefore) {
                boolean found = false;
                for (JsonNode a : identitiesAfter) found |= a.path("id").equals(id.path("id")) && a.path("labels").equals(id.path("labels"));
                assertTrue(found, "identity " + id + " restored with its number; after: " + identitiesAfter);
            }
            stream.destroyForcibly();
        } finally {
            TestFiles.deleteTree(work);
        }
    }


    /** name to [endpoint id, identity]. */
    private static Map<String, List<Long>> endpoints(E2eSupport.Agent agent) {
        Map<String, List<Long>> out = new LinkedHashMap<>();
        for (JsonNode e : agent.cli("endpoint", "list", "-o", "json").json()) {
            out.put(e.path("namespace").asText() + "/" + e.path("name").asText(),
                    List.of(e.path("id").asLong(), e.path("identity").asLong()));
        }
        return out;
    }

    private static int lines(Path p) {
        try {
            return Files.exists(p) ? (int) Files.readAllLines(p).stream().filter(l -> l.startsWith("line-")).count() : 0;
        } catch (java.io.IOException e) {
            return 0;
        }
    }
}
