package io.septum.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.policy.PolicyInfo;
import io.septum.cli.SeptumCli;
import io.septum.cli.connectivity.LabException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The Star Wars demo's data (examples/starwars/) as the lab reads it, and the lab's commands in the CLI. */
class DemoScriptTest {
    private static final Path EXAMPLE = Path.of("../../examples/starwars");

    @Test
    void theStarWarsDataIsBuiltIntoTheJarAndReadsAsTheSeedsScenario() throws Exception {
        DemoScript s = DemoScript.load("starwars");
        assertEquals("Star Wars demo", s.title());
        assertEquals(List.of("deathstar-1", "deathstar-2", "tiefighter", "xwing"),
                s.endpoints().stream().map(DemoScript.EndpointDef::name).toList());
        assertEquals(List.of("org", "class", "app.kubernetes.io/name"), List.copyOf(s.endpoint("xwing").labels().keySet()));
        assertEquals("80/TCP", s.endpoint("deathstar-1").ports().get(0).toString());
        assertEquals(List.of("deathstar-1", "deathstar-2"), s.service().backends());
        assertEquals(Files.readString(EXAMPLE.resolve("sw_l3_l4_l7_policy.yaml")), s.policyText(), "the seed's file, unchanged");
        assertEquals("examples/starwars/sw_l3_l4_l7_policy.yaml", s.policyShownAs());
        assertEquals(List.of("list", "add-service", "comment", "request", "request", "request", "import-policy", "comment",
                        "request", "request", "request", "list", "list", "list", "observe", "monitor"),
                s.steps().stream().map(DemoScript.Step::kind).toList());
        assertTrue(s.steps().get(10).request().dropped());
        assertEquals(403, s.steps().get(8).request().status());

        List<PolicyInfo> p = DemoCommand.Demo.policiesOf(s.policyText(), s.namespace(), "septum-demo:x");
        assertEquals(1, p.size());
        assertEquals("rule1", p.get(0).name());
        assertEquals("default", p.get(0).namespace());
    }

    @Test
    void aFolderIsReadAsGivenAndABadStepIsRefused(@TempDir Path tmp) throws Exception {
        Files.copy(EXAMPLE.resolve("demo.yaml"), tmp.resolve("demo.yaml"));
        Files.copy(EXAMPLE.resolve("sw_l3_l4_l7_policy.yaml"), tmp.resolve("sw_l3_l4_l7_policy.yaml"));
        DemoScript s = DemoScript.load(tmp, "mine");
        assertEquals(Path.of("mine", "sw_l3_l4_l7_policy.yaml").toString(), s.policyShownAs());

        Files.writeString(tmp.resolve("demo.yaml"), Files.readString(tmp.resolve("demo.yaml"))
                .replace("  - list: endpoints\n  - add-service: {}", "  - {list: endpoints, comment: two}\n  - add-service: {}"));
        LabException e = assertThrows(LabException.class, () -> DemoScript.load(tmp, "mine"));
        assertTrue(e.getMessage().contains("exactly one of"), e.getMessage());
    }

    @Test
    void theLabsCommandsJoinTheCliThroughServiceLoader() {
        CommandLine cl = SeptumCli.commandLine(new SeptumCli(), new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
        List<String> names = List.copyOf(cl.getSubcommands().keySet());
        assertEquals(List.of("connectivity", "demo", "probe"), names.subList(names.size() - 3, names.size()), names.toString());
        assertTrue(cl.getSubcommands().get("demo").getSubcommands().containsKey("starwars"));
    }
}
