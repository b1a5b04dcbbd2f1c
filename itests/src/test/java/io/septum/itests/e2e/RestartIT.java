package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@code kill -9} of the agent under traffic: the datapath keeps enforcing (the xwing stays dropped, the tiefighter
 * allowed, an established connection keeps flowing), and a restarted agent restores the same endpoints with the
 * same identities without a single wrong probe during its resync.
 */
class RestartIT {
    private static final Duration ALLOW_TIMEOUT = Duration.ofMillis(1500);
    private static final Duration DENY_TIMEOUT = Duration.ofMillis(500);
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
    void enforcementSurvivesKillNineAndRestartRestoresState() throws Exception {
        Path septum = E2eSupport.septum();
        Path work = Files.createTempDirectory("septum-e2e-restart");
        try (E2eSupport.Agent agent = E2eSupport.Agent.start(septum); E2eNet net = new E2eNet()) {
            E2eNet.Node ds = net.add("deathstar");
            E2eNet.Node tie = net.add("tiefighter");
            E2eNet.Node xwing = net.add("xwing");
            net.echo(ds, 80);
            add(agent, ds, "org=empire", "class=deathstar");
            add(agent, tie, "org=empire", "class=tiefighter");
            add(agent, xwing, "org=alliance", "class=xwing");
            assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> {
                JsonNode l = agent.cli("endpoint", "list", "-o", "json").json();
                int ready = 0;
                for (JsonNode e : l) if ("ready".equals(e.path("state").asText())) ready++;
                return ready >= 3;
            }), "three endpoints ready");
            Path rule1 = work.resolve("sw_l3_l4_policy.yaml");
            Files.writeString(rule1, RULE1);
            E2eSupport.Run imp = agent.cli("policy", "import", rule1.toString());
            assertEquals(0, imp.exit(), imp.toString());
            assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> net.tcp(tie, ds, 80, ALLOW_TIMEOUT)
                    && !net.tcp(xwing, ds, 80, DENY_TIMEOUT)), "rule1 enforced before the kill");

            Map<String, List<Long>> before = endpoints(agent);
            JsonNode identitiesBefore = agent.cli("identity", "list", "-o", "json").json();

            // an established connection that carries a line every 100 ms through everything that follows
            Path echoed = work.resolve("stream.out");
            Process stream = net.stream(tie, ds, 80, 900, 100, echoed);
            assertTrue(E2eSupport.await(Duration.ofSeconds(5), () -> lines(echoed) >= 3), "the stream flows");

            List<String> wrong = Collections.synchronizedList(new ArrayList<>());
            AtomicReference<String> phase = new AtomicReference<>("before kill");
            AtomicBoolean probing = new AtomicBoolean(true);
            AtomicInteger rounds = new AtomicInteger();
            Thread prober = new Thread(() -> {
                while (probing.get()) {
                    String p = phase.get();
                    if (!net.tcp(tie, ds, 80, ALLOW_TIMEOUT)) wrong.add(p + ": tiefighter -> deathstar:80 dropped");
                    if (net.tcp(xwing, ds, 80, DENY_TIMEOUT)) wrong.add(p + ": xwing -> deathstar:80 allowed");
                    rounds.incrementAndGet();
                }
            }, "e2e-prober");
            prober.start();
            try {
                awaitRounds(rounds, 2);
                phase.set("agent killed");
                agent.kill9();
                assertFalse(agent.alive());
                int atKill = lines(echoed);
                awaitRounds(rounds, 3);
                assertTrue(E2eSupport.await(Duration.ofSeconds(5), () -> lines(echoed) > atKill + 5),
                        "the established connection flows while the agent is down");

                phase.set("agent restarting");
                agent.restart();
                phase.set("agent resynced");
                awaitRounds(rounds, 4);
            } finally {
                probing.set(false);
                prober.join(10_000);
            }
            assertTrue(wrong.isEmpty(), "wrong probe outcomes:\n" + String.join("\n", wrong));
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
            E2eSupport.deleteTree(work);
        }
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

    private static void awaitRounds(AtomicInteger rounds, int more) {
        int target = rounds.get() + more;
        assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> rounds.get() >= target), "probe rounds progress");
    }
}
