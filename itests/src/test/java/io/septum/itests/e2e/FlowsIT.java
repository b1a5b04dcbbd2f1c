package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code septum observe} with real traffic: the xwing's dropped SYNs to the deathstar and the tiefighter's allowed
 * connection become flows with both endpoints' names, the drop reason and the deciding rule; the flows survive a
 * {@code kill -9} and restart of the agent (the on-disk flow log); {@code septum status} shows the flow figures.
 */
class FlowsIT {
    @Test
    void dropsAndVerdictsAreFlowsWithNamesAndRulesAndSurviveARestart() throws Exception {
        Path septum = E2eSupport.septum();
        try (E2eSupport.Agent agent = E2eSupport.Agent.start(septum); E2eNet net = new E2eNet()) {
            StarWarsFleet fleet = StarWarsFleet.deploy(septum, agent, net);
            E2eNet.Node ds = fleet.deathstar();
            E2eNet.Node tie = fleet.tiefighter();
            E2eNet.Node xwing = fleet.xwing();

            String dsName = "default/" + ds.name();
            String xwName = "default/" + xwing.name();
            String tieName = "default/" + tie.name();
            JsonNode drop = awaitFlow(agent, xwName, dsName, "--verdict", "DROPPED", "--from-endpoint", xwing.name());
            assertEquals("drop", drop.path("event_type").asText(), drop.toString());
            assertEquals(133, drop.path("drop_reason").asInt(), drop.toString());
            assertEquals("POLICY_DENIED", drop.path("drop_reason_desc").asText(), drop.toString());
            assertEquals("default deny: no rule allows", drop.path("rule").asText(), drop.toString());
            assertEquals("INGRESS", drop.path("traffic_direction").asText(), drop.toString());
            assertEquals("TO_ENDPOINT", drop.path("trace_observation_point").asText(), drop.toString());
            assertEquals(xwing.ip(), drop.path("IP").path("source").asText(), drop.toString());
            assertEquals(80, drop.path("l4").path("destination_port").asInt(), drop.toString());
            assertTrue(drop.path("l4").path("flags").toString().contains("SYN"), drop.toString());
            assertTrue(drop.path("source").path("labels").toString().contains("class=xwing"), drop.toString());

            JsonNode allowed = awaitFlow(agent, tieName, dsName, "--verdict", "FORWARDED", "--type", "policy-verdict",
                    "--from-label", "class=tiefighter", "--port", "80");
            assertEquals("default/rule1 ingress[0]", allowed.path("rule").asText(), allowed.toString());
            assertEquals("L3-L4", allowed.path("policy_match_type").asText(), allowed.toString());

            E2eSupport.Run compact = agent.cli("observe", "--verdict", "DROPPED", "--from-endpoint", xwing.name(), "--last", "1");
            assertEquals(0, compact.exit(), compact.toString());
            assertTrue(compact.out().contains(xwName + ":") && compact.out().contains("-> " + dsName + ":80 (ID:")
                    && compact.out().contains("drop (Policy denied) INGRESS DROPPED (TCP Flags: SYN)"), compact.toString());

            E2eSupport.Run status = agent.cli("status");
            assertTrue(status.out().contains("Current/Max Flows:") && status.out().contains("/8192 (")
                    && status.out().contains("Flows/s:") && status.out().contains("Lost events:"), status.toString());

            // kill -9: no deactivation runs; the flows written before must still be there after the restart
            long dropTime = drop.path("time_nanos").asLong();
            agent.kill9();
            agent.restart();
            assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> {
                for (JsonNode f : observe(agent, "--verdict", "DROPPED", "--from-endpoint", xwing.name(), "--last", "0")) {
                    if (f.path("time_nanos").asLong() == dropTime) return true;
                }
                return false;
            }), "the xwing's drop is still observed after kill -9 and restart\n" + agent.cli("observe", "--last", "50"));
            assertTrue(Files.isDirectory(agent.stateDir.resolve("flows")), "the flow log lives in the state dir");
        }
    }

    /** Polls {@code observe -o json} until an ingress flow from {@code src} to {@code dst} shows, and returns it. */
    private static JsonNode awaitFlow(E2eSupport.Agent agent, String src, String dst, String... filters) {
        JsonNode[] found = new JsonNode[1];
        boolean ok = E2eSupport.await(Duration.ofSeconds(20), () -> {
            for (JsonNode f : observe(agent, filters)) {
                // the datapath reports a connection at both ends: the deciding rule is the destination's, on ingress
                if (src.equals(name(f.path("source"))) && dst.equals(name(f.path("destination")))
                        && "INGRESS".equals(f.path("traffic_direction").asText())) {
                    found[0] = f;
                    return true;
                }
            }
            return false;
        });
        if (!ok) agent.printLog();
        assertTrue(ok, "a flow " + src + " -> " + dst + " with " + List.of(filters) + "\n" + agent.cli("observe", "--last", "50"));
        return found[0];
    }

    private static List<JsonNode> observe(E2eSupport.Agent agent, String... filters) {
        List<String> args = new ArrayList<>(List.of("observe", "-o", "json"));
        args.addAll(List.of(filters));
        E2eSupport.Run r = agent.cli(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.toString());
        List<JsonNode> out = new ArrayList<>();
        for (String line : r.out().split("\n")) {
            if (line.isBlank()) continue;
            try {
                out.add(E2eSupport.JSON.readTree(line));
            } catch (java.io.IOException e) {
                throw new AssertionError("observe -o json printed a line that is not JSON: " + line, e);
            }
        }
        return out;
    }

    private static String name(JsonNode side) {
        return side.path("namespace").asText() + "/" + side.path("pod_name").asText();
    }

}
