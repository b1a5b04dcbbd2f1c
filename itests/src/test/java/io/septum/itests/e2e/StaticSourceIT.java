package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.testsupport.TestFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The example source of {@code examples/source-static}, the template of docs/writing-a-source.md, hot-deployed into a
 * running agent: the endpoints of its file become {@code ready} with {@code static:} labels (and none of the labels
 * the agent alone may set), a policy on those labels is enforced with real connections, a bad line in the file
 * changes nothing and shows in {@code septum status}, and removing the jar leaves the endpoints {@code disconnected}.
 */
class StaticSourceIT {
    private static final String POLICY = E2eSupport.allowIngress("static-server-from-client", "role: server", "role: client");

    @Test
    void deployedExampleSourceIsEnforced() throws Exception {
        Path dist = E2eSupport.distribution();
        Path jar = exampleJar();
        Path home = Files.createTempDirectory("septum-e2e-static-home");
        try {
            E2eSupport.privateHome(home, dist);
            Path file = home.resolve("etc/static-endpoints.txt");
            Files.writeString(home.resolve("etc/io.septum.example.source.static.cfg"), "pollSeconds=1\n");
            try (E2eSupport.Agent agent = E2eSupport.Agent.start(home.resolve("bin/septum")); E2eNet net = new E2eNet()) {
                try {
                    E2eNet.Node server = net.add("server");
                    E2eNet.Node client = net.add("client");
                    E2eNet.Node other = net.add("other");
                    net.echo(server, 80);
                    String good = String.join("\n",
                            "# name  interface  address  labels",
                            line(server, "role=server"),
                            line(client, "role=client"),
                            // labels only the agent may set: dropped, the endpoint stays an ordinary static one
                            line(other, "role=other io.kubernetes.pod.namespace=kube-system reserved:host k8s:role=client"),
                            "");
                    Files.writeString(file, good);
                    Files.copy(jar, home.resolve("deploy/septum-example-source-static.jar"));
                    List<String> names = List.of("server", "client", "other");
                    boolean ready = E2eSupport.await(Duration.ofSeconds(60), () -> names.stream()
                            .allMatch(n -> "ready".equals(endpoint(agent, n).path("state").asText())));
                    if (!ready) fail("static endpoints not ready within 60 s: " + agent.cli("endpoint", "list").out());
                    JsonNode s = endpoint(agent, "server");
                    assertEquals("static", s.path("source").asText(), s.toString());
                    assertTrue(E2eSupport.labels(s).contains("static:role=server"), s.toString());
                    assertEquals(server.veth(), s.path("interfaceName").asText(), s.toString());
                    List<String> ol = E2eSupport.labels(endpoint(agent, "other"));
                    assertTrue(ol.contains("k8s:io.kubernetes.pod.namespace=default"), ol.toString());
                    assertFalse(ol.stream().anyMatch(l -> l.startsWith("reserved:") || l.equals("k8s:role=client")
                            || l.contains("kube-system")), "labels only the agent sets were dropped: " + ol);

                    assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> net.tcp(other, server, 80, ALLOW)),
                            "no policy yet: other reaches server:80");
                    Path policy = home.resolve("policy.yaml");
                    agent.importPolicy(policy, POLICY);
                    assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> !net.tcp(other, server, 80, DENY)),
                            "the policy denies other -> server:80");
                    assertTrue(net.tcp(client, server, 80, ALLOW), "the policy allows client -> server:80");

                    // A bad line: nothing changes, status says where.
                    Files.writeString(file, good + "broken-line-without-address veth0\n");
                    assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> agent.cli("status").out()
                            .contains("static-endpoints.txt:5")), "status names the bad line: " + agent.cli("status").out());
                    assertTrue(names.stream().allMatch(n -> "ready".equals(endpoint(agent, n).path("state").asText())),
                            "a bad file changes nothing");
                    assertTrue(net.tcp(client, server, 80, ALLOW) && !net.tcp(other, server, 80, DENY),
                            "still enforced after the bad edit");

                    Files.delete(home.resolve("deploy/septum-example-source-static.jar"));
                    assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> names.stream()
                            .allMatch(n -> "disconnected".equals(endpoint(agent, n).path("state").asText()))),
                            "undeployed: disconnected; " + agent.cli("endpoint", "list").out());
                } catch (RuntimeException | Error e) {
                    agent.printLog();
                    throw e;
                }
            }
        } finally {
            TestFiles.deleteTree(home);
        }
    }

    private static final Duration ALLOW = Duration.ofMillis(1500);
    private static final Duration DENY = Duration.ofMillis(500);

    private static String line(E2eNet.Node n, String labels) {
        return n.name() + " " + n.veth() + " " + n.ip() + " " + labels;
    }

    /** The jar the build made in examples/source-static (set by the pom), or the one next to the repository's root. */
    private static Path exampleJar() throws IOException {
        String p = System.getProperty("septum.example.source.dir");
        List<Path> dirs = new ArrayList<>();
        if (p != null && !p.isBlank()) dirs.add(Path.of(p));
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) dirs.add(d.resolve("examples/source-static/target"));
        for (Path d : dirs) {
            if (!Files.isDirectory(d)) continue;
            try (var s = Files.list(d)) {
                var jar = s.filter(f -> f.getFileName().toString().matches("septum-example-source-static-.*\\.jar")
                        && !f.getFileName().toString().contains("-tests")).findFirst();
                if (jar.isPresent()) return jar.get();
            }
        }
        fail("the example source is not built (examples/source-static/target/septum-example-source-static-*.jar)");
        return null;
    }

    private static JsonNode endpoint(E2eSupport.Agent agent, String name) {
        return agent.endpoint(e -> "static".equals(e.path("source").asText()) && name.equals(e.path("name").asText()));
    }
}
