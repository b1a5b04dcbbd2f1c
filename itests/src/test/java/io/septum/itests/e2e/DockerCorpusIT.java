package io.septum.itests.e2e;

import static io.septum.itests.e2e.E2eSupport.TestDocker.docker;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.testsupport.TestFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * Every corpus case without L7 probes passes through {@code septum connectivity test --runtime docker}: the case's
 * endpoints are containers of the private test engine (scripts/test-dockerd.sh), which the agent's hot-deployed
 * docker source makes endpoints; {@code policy eval} gives the same verdict and rule for every probe, and each run
 * leaves no container, network or endpoint behind. Also: without the docker source the command says so (exit 3).
 *
 * <p>The agent runs from a private home (as in {@link DockerSourceIT}) whose docker source takes the namespace from
 * the container label {@code io.kubernetes.pod.namespace}, which the lab sets to the case's namespace.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DockerCorpusIT {
    private static final String SOCK = E2eSupport.TestDocker.HOST;
    private E2eSupport.Agent agent;
    private Path home;
    private Path jar;
    private Path script;
    private FileChannel lockChannel;
    private FileLock lock;
    private long started;

    @BeforeAll
    void start() throws Exception {
        Path dist = E2eSupport.distribution();
        jar = E2eSupport.optionalJar(dist, "septum-source-docker.jar");
        E2eSupport.TestDocker.assumeInstalled();
        script = E2eSupport.repoFile("scripts/test-dockerd.sh");
        // The engine is shared with DockerSourceIT and the source-docker unit tests, maybe in another build.
        lockChannel = FileChannel.open(Path.of("/run/sept-test-docker.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        lock = lockChannel.lock();
        started = System.nanoTime();
        E2eSupport.Run up = E2eSupport.sh(Duration.ofSeconds(120), script.toString(), "start");
        assertEquals(0, up.exit(), up.toString());
        home = Files.createTempDirectory("septum-e2e-dockercorpus-home");
        E2eSupport.privateHome(home, dist);
        Files.writeString(home.resolve("etc/io.septum.source.docker.cfg"),
                "dockerHost=" + SOCK + "\nnamespaceFromLabel=io.kubernetes.pod.namespace\n");
        agent = E2eSupport.Agent.start(home.resolve("bin/septum"));
    }

    @AfterAll
    void stop() throws IOException {
        try {
            if (agent != null) agent.close();
            if (script != null) E2eSupport.sh(Duration.ofSeconds(60), script.toString(), "stop");
            TestFiles.deleteTree(home);
            System.err.println("e2e: docker corpus run took " + (System.nanoTime() - started) / 1_000_000 + " ms in all");
        } finally {
            if (lock != null) lock.release();
            if (lockChannel != null) lockChannel.close();
        }
    }

    @TestFactory
    Stream<DynamicTest> corpus() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        // first, before the source is deployed: the command must say what is missing
        tests.add(DynamicTest.dynamicTest("without the docker source", this::withoutSource));
        tests.add(DynamicTest.dynamicTest("deploy the docker source", this::deploy));
        tests.addAll(E2eSupport.labCases(agent, e -> {
            Path c = e.path();
            if (E2eSupport.hasL7Probes(c)) {
                return DynamicTest.dynamicTest(e.name() + " (L7: skipped)", () -> skipped(c, "http:"));
            } else if (E2eSupport.hasDnsLookups(new com.fasterxml.jackson.databind.ObjectMapper(
                    new com.fasterxml.jackson.dataformat.yaml.YAMLFactory()).readTree(c.toFile()))) {
                return DynamicTest.dynamicTest(e.name() + " (DNS: skipped)", () -> skipped(c, "dns:"));
            }
            return DynamicTest.dynamicTest(e.name(), () -> check(c));
        }));
        return tests.stream();
    }

    private void withoutSource() {
        Path c = E2eSupport.corpus().resolve("cases/deny-wins.yaml");
        E2eSupport.Run r = agent.cli(Duration.ofSeconds(120), "connectivity", "test", "--runtime", "docker",
                "--docker-host", SOCK, "--case", c.toString());
        assertEquals(3, r.exit(), r.toString());
        assertTrue(r.err().contains("no docker endpoint source") && r.err().contains("septum-source-docker.jar"), r.toString());
        assertEquals("", docker("ps", "-aq", "--filter", "name=sept-c"), "no container made");
    }

    private void deploy() throws IOException {
        Files.copy(jar, home.resolve("deploy/septum-source-docker.jar"));
        boolean connected = E2eSupport.await(Duration.ofSeconds(60), () -> {
            try {
                for (JsonNode s : agent.get("/v1/status").path("sources")) {
                    if ("container".equals(s.path("source").asText()) && s.path("connected").asBoolean()) return true;
                }
            } catch (IOException e) {
                // busy: poll again
            }
            return false;
        });
        if (!connected) {
            agent.printLog();
            fail("the docker source did not connect within 60 s");
        }
    }

    private void skipped(Path c, String what) {
        E2eSupport.Run r = agent.cli(Duration.ofSeconds(60), "connectivity", "test", "--runtime", "docker",
                "--docker-host", SOCK, "--case", c.toString());
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.err().contains("skipped") && r.err().contains(what), r.toString());
    }

    private void check(Path c) throws IOException {
        long t0 = System.nanoTime();
        E2eSupport.Run real = agent.cli(Duration.ofSeconds(180), "connectivity", "test", "--runtime", "docker",
                "--docker-host", SOCK, "--case", c.toString(), "-o", "json");
        System.err.println("e2e: " + c.getFileName() + " with containers in " + (System.nanoTime() - t0) / 1_000_000
                + " ms:\n" + real.err());
        E2eSupport.assertSameAsEval(agent, c, real, "containers");
        // the run removed what it made: containers and network at once, their endpoints as the source reports it
        assertEquals("", docker("ps", "-aq", "--filter", "name=sept-c"), "leftover containers");
        assertEquals("", docker("network", "ls", "-q", "--filter", "name=sept-c"), "leftover networks");
        boolean gone = E2eSupport.await(Duration.ofSeconds(30), () -> {
            try {
                for (JsonNode ep : agent.get("/v1/endpoints")) {
                    if (ep.path("externalIds").path("container-name").asText().startsWith("sept-c")) return false;
                }
                return true;
            } catch (IOException x) {
                return false;
            }
        });
        assertTrue(gone, "the containers' endpoints left the agent: " + agent.cli("endpoint", "list").out());
        JsonNode policies = agent.get("/v1/policies");
        assertEquals(0, policies.size(), "leftover policies " + policies);
    }
}
