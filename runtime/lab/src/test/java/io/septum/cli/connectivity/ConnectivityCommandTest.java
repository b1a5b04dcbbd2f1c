package io.septum.cli.connectivity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.testsupport.RequiresRoot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands as the CLI registers them: input is checked before anything is created, and an unreachable agent
 * is an error (exit 3) that leaves no lab behind. The full runs with an agent are in the e2e tests.
 */
class ConnectivityCommandTest {
    @TempDir
    Path dir;

    /** A case file of these lines. */
    private Path write(String name, String... lines) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, String.join("\n", lines));
        return p;
    }

    @Test
    void aProbeToAnUnknownEndpointIsInvalidInput() throws IOException {
        LabCliRun.needEngine();
        Path c = write("bad.yaml",
                "name: bad",
                "endpoints:",
                "  - {name: a, labels: {app: a}, ports: [80]}",
                "policies: \"\"",
                "probes:",
                "  - {from: a, to: nobody, port: 80, protocol: TCP, expect: allow}",
                "");
        LabCliRun.testWithoutAgent(dir, c).assertInvalidInput("probes[0]", "nobody");
    }

    @Test
    void aProtocolThatPacketsCannotProbeIsInvalidInput() throws IOException {
        LabCliRun.needEngine();
        Path c = write("icmp.yaml",
                "name: icmp",
                "endpoints:",
                "  - {name: a, labels: {app: a}, ports: [80]}",
                "  - {name: b, labels: {app: b}}",
                "policies: \"\"",
                "probes:",
                "  - {from: b, to: a, port: 80, protocol: SCTP, expect: allow}",
                "");
        LabCliRun.testWithoutAgent(dir, c).assertInvalidInput("probes[0].protocol");
    }

    @Test
    void anInvalidPolicyIsInvalidInput() throws IOException {
        LabCliRun.needEngine();
        Path c = write("badpolicy.yaml",
                "name: badpolicy",
                "endpoints:",
                "  - {name: a, labels: {app: a}, ports: [80]}",
                "policies: |",
                "  apiVersion: cilium.io/v2",
                "  kind: CiliumNetworkPolicy",
                "  metadata: {name: p}",
                "  spec:",
                "    endpointSelector: {matchLabels: {app: a}}",
                "    ingress:",
                "    - toPorts:",
                "      - ports: [{port: \"70000\", protocol: TCP}]",
                "probes:",
                "  - {from: a, to: a, port: 80, protocol: TCP, expect: allow}",
                "");
        LabCliRun.testWithoutAgent(dir, c).assertInvalidInput("70000");
    }

    @Test
    void aBadTimeoutIsInvalidInput() throws IOException {
        Path c = write("c.yaml", "name: c", "");
        LabCliRun.run("connectivity", "test", "--case", c.toString(), "--timeout", "5m").assertInvalidInput("--timeout");
    }

    @Test
    @RequiresRoot("netns")
    void anUnreachableAgentIsAnErrorAndCreatesNothing() throws IOException {
        LabCliRun.needEngine();
        Path c = write("ok.yaml",
                "name: ok",
                "endpoints:",
                "  - {name: a, labels: {app: a}, ports: [80]}",
                "  - {name: b, labels: {app: b}}",
                "policies: \"\"",
                "probes:",
                "  - {from: b, to: a, port: 80, protocol: TCP, expect: allow}",
                "");
        List<String> before = labNamespaces();
        LabCliRun r = LabCliRun.testWithoutAgent(dir, c);
        assertEquals(3, r.exit(), r.toString());
        assertTrue(r.err().contains("cannot reach the agent"), r.err());
        assertEquals(before, labNamespaces(), "no namespace was created");

        LabCliRun demo = LabCliRun.run("--socket", dir.resolve("none.sock").toString(), "demo", "starwars");
        assertEquals(3, demo.exit(), demo.toString());
        assertTrue(demo.err().contains("cannot reach the agent"), demo.err());
        assertEquals(before, labNamespaces(), "no namespace was created");
    }

    @Test
    void durationsParse() {
        assertEquals(1000, ConnectivityCommand.CliOptions.duration("1s").toMillis());
        assertEquals(500, ConnectivityCommand.CliOptions.duration("500ms").toMillis());
        assertEquals(1500, ConnectivityCommand.CliOptions.duration("1.5").toMillis());
    }

    private static List<String> labNamespaces() throws IOException {
        Path netns = Path.of("/run/netns");
        if (!Files.isDirectory(netns)) return List.of();
        try (Stream<Path> s = Files.list(netns)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("sept-c") || n.startsWith("sept-d"))
                    .sorted().toList();
        }
    }
}
