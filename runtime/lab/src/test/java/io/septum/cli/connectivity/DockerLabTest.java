package io.septum.cli.connectivity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.septum.api.AgentStatus;
import io.septum.api.ComponentStatus;
import io.septum.api.SourceHealth;
import io.septum.api.policy.PolicyEngine;
import io.septum.cli.SeptumCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code --runtime docker} checks before it makes anything: the agent's docker source (present, connected, on
 * the same engine), the runtime name, and that L7 cases are skipped with the reason. The runs with containers are in
 * the e2e tests ({@code DockerCorpusIT}).
 */
class DockerLabTest {
    private static final String HOST = "unix:///run/sept-t-none.sock";

    @TempDir
    Path dir;

    private static AgentStatus status(List<ComponentStatus> components, List<SourceHealth> sources) {
        return new AgentStatus("t", true, 1, 1, "default", 1, 0, 0, components, sources);
    }

    @Test
    void theAgentMustRunADockerSourceConnectedToTheSameEngine() {
        SourceHealth netns = new SourceHealth("netns", true, 1, null);
        String none = DockerLab.checkAgent(status(List.of(), List.of(netns)), HOST);
        assertTrue(none.contains("no docker endpoint source") && none.contains("optional/septum-source-docker.jar")
                && none.contains("deploy/"), none);

        String down = DockerLab.checkAgent(status(List.of(), List.of(netns,
                new SourceHealth("container", false, 0, "connection refused"))), HOST);
        assertTrue(down.contains("not connected") && down.contains("connection refused"), down);

        String other = DockerLab.checkAgent(status(List.of(ComponentStatus.ok("source-docker",
                "3 endpoints from unix:///var/run/docker.sock")), List.of(new SourceHealth("container", true, 1, null))), HOST);
        assertTrue(other.contains("another engine") && other.contains(HOST), other);

        assertNull(DockerLab.checkAgent(status(List.of(ComponentStatus.ok("source-docker", "3 endpoints from " + HOST)),
                List.of(new SourceHealth("container", true, 1, null))), HOST));
    }

    @Test
    void anUnknownRuntimeIsInvalidInput() throws IOException {
        needEngine();
        Path c = write("ok.yaml", "  - {from: a, to: b, port: 80, protocol: TCP, expect: allow}\n");
        String[] r = run("--socket", dir.resolve("none.sock").toString(), "connectivity", "test", "--runtime", "vm",
                "--case", c.toString());
        assertEquals("2", r[0], r[2]);
        assertTrue(r[2].contains("--runtime") && r[2].contains("netns or docker"), r[2]);
    }

    @Test
    void casesWithHttpProbesAreSkippedWithTheReason() throws IOException {
        needEngine();
        Path c = write("l7.yaml", "  - {from: a, to: b, port: 80, protocol: TCP, http: {method: GET, path: /}, expect: allow}\n");
        // no agent behind the socket: a skip must not need one
        String[] r = run("--socket", dir.resolve("none.sock").toString(), "connectivity", "test", "--runtime", "docker",
                "--case", c.toString());
        assertEquals("0", r[0], r[2]);
        assertTrue(r[2].contains("skipped") && r[2].contains("http:"), r[2]);
    }

    private static void needEngine() {
        assumeTrue(ServiceLoader.load(PolicyEngine.class).findFirst().isPresent(),
                "septum-policy is not on the test classpath (built with -Dseptum.runtime.nopolicy)");
    }

    private Path write(String name, String probe) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, String.join("\n",
                "name: t",
                "endpoints:",
                "  - {name: a, labels: {app: a}}",
                "  - {name: b, labels: {app: b}, ports: [80]}",
                "policies: \"\"",
                "probes:",
                probe));
        return p;
    }

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = SeptumCli.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new String[] {Integer.toString(exit), out.toString(), err.toString()};
    }
}
