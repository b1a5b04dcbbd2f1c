package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code septum demo starwars} against a fresh agent: both ships land, then only the tiefighter does. */
class StarWarsDemoIT {
    @Test
    void demoShowsTheTiefighterLandingAndTheXwingDropped() {
        try (E2eSupport.Agent agent = E2eSupport.Agent.start(E2eSupport.septum())) {
            E2eSupport.Run r = agent.cli(Duration.ofSeconds(120), "demo", "starwars");
            if (r.exit() != 0) agent.printLog();
            assertEquals(0, r.exit(), r.toString());
            List<String> lines = r.out().lines().toList();
            int imported = indexOf(lines, 0, "$ septum policy import");
            assertTrue(imported > 0, "the policy step is shown\n" + r);
            assertTrue(indexOf(lines, 0, "$ xwing -> curl") < imported, "xwing before the policy\n" + r);
            assertEquals("Ship landed", lines.get(indexOf(lines, 0, "$ xwing -> curl") + 1), r.toString());

            int tie = indexOf(lines, imported, "$ tiefighter -> curl");
            assertTrue(tie > imported, r.toString());
            assertEquals("Ship landed", lines.get(tie + 1), "the tiefighter lands after the policy\n" + r);
            int xwing = indexOf(lines, imported, "$ xwing -> curl");
            assertTrue(xwing > imported, r.toString());
            assertEquals("command terminated with exit code 28 (connection timed out: dropped by policy)",
                    lines.get(xwing + 1), "the xwing times out after the policy\n" + r);
            assertTrue(r.out().contains("Star Wars demo: OK"), r.toString());
            assertTrue(r.out().contains("DROPPED"), "drop events are shown\n" + r);

            // and it cleaned up after itself
            assertEquals(0, agent.cli("policy", "list", "-o", "json").json().size());
            for (var ep : agent.cli("endpoint", "list", "-o", "json").json()) {
                assertTrue(!ep.path("netns").asText().contains("sept-d"), "leftover endpoint " + ep);
            }
        }
    }

    private static int indexOf(List<String> lines, int from, String prefix) {
        for (int i = from; i < lines.size(); i++) if (lines.get(i).startsWith(prefix)) return i;
        return -1;
    }
}
