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
    private static final String RULE1 = String.join("\n",
            "apiVersion: \"cilium.io/v2\"",
            "kind: CiliumNetworkPolicy",
            "metadata:",
            "  name: \"rule1\"",
            "spec:",
            "  endpointSelector:",
            "    matchLabels: {org: empire, class: deathstar}",
            "  ingress:",
            "  - fromEndpoints:",
            "    - matchLabels: {org: empire}",
            "    toPorts:",
            "    - ports:",
            "      - {port: \"80\", protocol: TCP}",
            "");

    @Test
    void dropsAndVerdictsAreFlowsWithNamesAndRulesAndSurviveARestart() throws Exception {
        Path septum = E2eSupport.septum();
        Path work = Files.createTempDirectory("septum-e2e-flows");
        try (E2eSupport.Agent agent = E2eSupport.Agent.start(septum); E2eNet net = new E2eNet()) {
            E2eNet.Node ds = net.add("deathstar");
            E2eNet.Node tie = net.add("tiefighter");
            E2eNet.Node xwing = net.add("xwing");
            net.echo(ds, 80);
            add(agent, ds, "org=empire", "class=deathstar");
            add(agent, tie, "org=empire", "class=tiefighter");
            add(agent, xwing, "org=alliance", "class=xwing");
            assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> {
                int ready = 0;
                for (JsonNode e : agent.cli("endpoint", "list", "-o", "json").json()) {
                    if ("ready".equals(e.path("state").asText())) ready++;
                }
                return ready >= 3;
            }), "three endpoints ready");
            Path rule1 = work.resolve("sw_l3_l4_policy.yaml");
            Files.writeString(rule1, RULE1);
            E2eSupport.Run imp = agent.cli("policy", "import", rule1.toString());
            assertEquals(0, imp.exit(), imp.toString());
            assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> net.tcp(tie, ds, 80, Duration.ofMillis(1500))
                    && !net.tcp(xwing, ds, 80, Duration.ofMillis(500))), "rule1 enforced");

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
        } finally {
            E2eSupport.deleteTree(work);
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

    private static void add(E2eSupport.Agent agent, E2eNet.Node n, String... labels) {
        List<String> args = new ArrayList<>(List.of("endpoint", "add", "--name", n.name(), "--netns", n.netns(),
                "--interface", n.veth(), "--address", n.ip()));
        for (String l : labels) {
            args.add("--label");
            args.add(l);
        }
        E2eSupport.Run r = agent.cli(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.toString());
    }
}
