package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code septum demo starwars} against a fresh agent, line by line in the seed's order (section 3): the deathstar
 * service, both ships landing and the tiefighter's PUT exploding the deathstar, the L7 policy, then the PUT denied
 * by the proxy, the POST landing and the xwing dropped at L3/L4; then the lists and the events of the denials.
 */
class StarWarsDemoIT {
    private static final String DS = "deathstar.default.svc.cluster.local";

    @Test
    void demoRunsTheSeedsL7ScenarioStepByStep() {
        try (E2eSupport.Agent agent = E2eSupport.Agent.start(E2eSupport.septum())) {
            E2eSupport.Run r = agent.cli(Duration.ofSeconds(150), "demo", "starwars");
            if (r.exit() != 0) agent.printLog();
            assertEquals(0, r.exit(), r.toString());
            List<String> lines = r.out().lines().toList();
            Cursor c = new Cursor(lines, r.toString());

            c.next("$ septum endpoint list");
            int add = c.next("$ septum service add deathstar --frontend ");
            assertTrue(lines.get(add).endsWith("--backend deathstar-1 --backend deathstar-2"), r.toString());
            assertServiceTable(lines, add, r.toString());

            c.expect("$ xwing -> curl -s -XPOST " + DS + "/v1/request-landing", "Ship landed");
            c.expect("$ tiefighter -> curl -s -XPOST " + DS + "/v1/request-landing", "Ship landed");
            c.expect("$ tiefighter -> curl -s -XPUT " + DS + "/v1/exhaust-port", "Panic: deathstar exploded");

            int imported = c.next("$ septum policy import ");
            assertTrue(lines.get(imported).endsWith("sw_l3_l4_l7_policy.yaml"), "the seed's L7 file, unchanged\n" + r);
            assertTrue(lines.get(imported + 1).startsWith("Imported 1 policies, revision "), r.toString());

            c.expect("$ tiefighter -> curl -s -XPUT " + DS + "/v1/exhaust-port", "Access denied");
            c.expect("$ tiefighter -> curl -s -XPOST " + DS + "/v1/request-landing", "Ship landed");
            c.expect("$ xwing -> curl -s -XPOST " + DS + "/v1/request-landing",
                    "command terminated with exit code 28 (connection timed out: dropped by policy)");

            int eps = c.next("$ septum endpoint list");
            assertTrue(lines.get(eps + 1).startsWith("ENDPOINT"), r.toString());
            int svc = c.next("$ septum service list");
            assertServiceTable(lines, svc, r.toString());

            int l7 = c.next("$ septum observe --type l7");
            String flows = String.join("\n", lines.subList(l7, c.next("$ septum monitor --type drop")));
            assertTrue(flows.contains("PUT") && flows.contains("/v1/exhaust-port") && flows.contains("DROPPED"),
                    "the denied PUT is an L7 DROPPED flow\n" + r);
            assertTrue(r.out().contains("Policy denied") || r.out().contains("DROPPED"), "the xwing's drops are shown\n" + r);
            assertTrue(r.out().contains("Star Wars demo: OK"), r.toString());

            // and it cleaned up after itself
            assertEquals(0, agent.cli("policy", "list", "-o", "json").json().size());

            // the demo's recorded traffic, judged against its own L7 policy while nothing is in force: the xwing's
            // connection and the tiefighter's PUT would be newly dropped, the POST landing stays allowed
            String draft = E2eSupport.distribution().resolve("examples/sw_l3_l4_l7_policy.yaml").toString();
            E2eSupport.Run impact = agent.cli("policy", "impact", draft, "--since", "30m", "-o", "json");
            assertEquals(0, impact.exit(), impact.toString());
            var report = impact.json();
            assertEquals(0, report.path("newly_allowed").asInt(), impact.toString());
            boolean xwingDropped = false;
            boolean putDropped = false;
            boolean postAllowed = false;
            for (var f : report.path("flows")) {
                String change = f.path("change").asText();
                if (f.path("source").asText().contains("xwing") && f.path("method").isMissingNode()) {
                    xwingDropped |= change.equals("newly-dropped");
                }
                if (f.path("path").asText().equals("/v1/exhaust-port")) putDropped |= change.equals("newly-dropped");
                if (f.path("path").asText().equals("/v1/request-landing") && f.path("source").asText().contains("tiefighter")) {
                    postAllowed |= f.path("after").asText().equals("ALLOWED") && change.equals("unchanged");
                }
            }
            assertTrue(xwingDropped && putDropped && postAllowed, impact.toString());
            assertTrue(report.path("newly_dropped").asInt() >= 2, impact.toString());
            E2eSupport.Run diff = agent.cli("policy", "diff", draft, "-o", "json");
            assertEquals(0, diff.exit(), diff.toString());
            assertEquals("added", diff.json().path("policies").path(0).path("change").asText(), diff.toString());
            assertEquals(0, agent.cli("policy", "list", "-o", "json").json().size(), "impact and diff apply nothing");
            assertEquals(0, agent.cli("service", "list", "-o", "json").json().size());
            for (var ep : agent.cli("endpoint", "list", "-o", "json").json()) {
                assertTrue(!ep.path("netns").asText().contains("sept-d"), "leftover endpoint " + ep);
            }
        }
    }

    /** The seed's {@code cilium service list} shape, with both deathstars as active backends. */
    private static void assertServiceTable(List<String> lines, int command, String all) {
        assertTrue(lines.get(command + 1).matches("ID\\s+Frontend\\s+Service Type\\s+Backend\\s*"), "seed's header\n" + all);
        assertTrue(lines.get(command + 2).matches("\\d+\\s+\\S+:80\\s+ClusterIP\\s+1 => \\S+:80 \\(active\\)\\s*"), all);
        assertTrue(lines.get(command + 3).matches("\\s+2 => \\S+:80 \\(active\\)\\s*"), all);
    }

    /** Walks the demo's output forwards: each step must come after the previous one. */
    private static final class Cursor {
        private final List<String> lines;
        private final String all;
        private int at;

        Cursor(List<String> lines, String all) {
            this.lines = lines;
            this.all = all;
        }

        int next(String prefix) {
            for (int i = at; i < lines.size(); i++) {
                if (lines.get(i).startsWith(prefix)) {
                    at = i + 1;
                    return i;
                }
            }
            throw new AssertionError("no \"" + prefix + "\" after line " + at + "\n" + all);
        }

        void expect(String command, String answer) {
            int i = next(command);
            assertEquals(command, lines.get(i), all);
            assertEquals(answer, lines.get(i + 1), "after " + command + "\n" + all);
        }
    }
}
