package io.septum.cli.connectivity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.AgentStatus;
import io.septum.api.ComponentStatus;
import io.septum.api.SourceHealth;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
        LabCliRun.needEngine();
        Path c = write("ok.yaml", "  - {from: a, to: b, port: 80, protocol: TCP, expect: allow}\n");
        LabCliRun.testWithoutAgent(dir, c, "--runtime", "vm").assertInvalidInput("--runtime", "netns or docker");
    }

    @Test
    void casesWithHttpProbesAreSkippedWithTheReason() throws IOException {
        LabCliRun.needEngine();
        Path c = write("l7.yaml", "  - {from: a, to: b, port: 80, protocol: TCP, http: {method: GET, path: /}, expect: allow}\n");
        // no agent behind the socket: a skip must not need one
        LabCliRun r = LabCliRun.testWithoutAgent(dir, c, "--runtime", "docker");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("skipped") && r.err().contains("http:"), r.err());
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

}
