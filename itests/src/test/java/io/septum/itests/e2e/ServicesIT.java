package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.testsupport.TestFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Services against the real distribution: {@code service add} with two network-namespace endpoints as backends,
 * and curl from a third endpoint by VIP and by name ({@code /etc/netns/NETNS/hosts}), then a {@code toServices} policy
 * that lets the client reach the backends and not a fourth endpoint, a backend leaving and the service going away (and
 * with it what the policy allows).
 */
class ServicesIT {
    private static final Duration CMD = Duration.ofSeconds(10);

    /** curl inside {@code from}; the body, or "" when it failed. */
    static String curl(E2eNet.Node from, String url) {
        E2eSupport.Run r = E2eSupport.sh(CMD, "ip", "netns", "exec", from.netns(), "curl", "-s", "--max-time", "3", url);
        return r.exit() == 0 ? r.out().trim() : "";
    }

    static List<String> labelsOf(E2eSupport.Agent agent, String endpoint) {
        List<String> out = new ArrayList<>();
        agent.cli("endpoint", "get", endpoint, "-o", "json").json().path("labels").forEach(l -> out.add(l.asText()));
        return out;
    }

    @Test
    void twoEndpointBackendsServeByVipAndByName() throws Exception {
        Path septum = E2eSupport.septum();
        Path www = Files.createTempDirectory("septum-e2e-svc");
        List<Process> servers = new ArrayList<>();
        List<Path> hostsDirs = new ArrayList<>();
        try (E2eSupport.Agent agent = E2eSupport.Agent.start(septum); E2eNet net = new E2eNet()) {
            String vip = "10.197." + net.subnet + ".10";
            List<E2eNet.Node> backends = List.of(net.add("deathstar-1"), net.add("deathstar-2"));
            E2eNet.Node client = net.add("tiefighter");
            E2eNet.Node other = net.add("other"); // serves too, but is no backend
            for (E2eNet.Node n : List.of(backends.get(0), backends.get(1), client, other)) hostsDirs.add(Path.of("/etc/netns", n.netns()));
            for (E2eNet.Node b : List.of(backends.get(0), backends.get(1), other)) {
                Path dir = Files.createDirectories(www.resolve(b.name()));
                Files.writeString(dir.resolve("index.html"), b.name() + "\n");
                servers.add(new ProcessBuilder("ip", "netns", "exec", b.netns(), "python3", "-m", "http.server", "80",
                        "--bind", "0.0.0.0", "--directory", dir.toString())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
            }
            for (E2eNet.Node n : List.of(backends.get(0), backends.get(1), client, other)) {
                E2eSupport.Run add = agent.cli("endpoint", "add", "--name", n.name(), "--netns", n.netns(),
                        "--interface", n.veth(), "--address", n.ip(), "--label", "app=" + n.name().replace("-1", "").replace("-2", ""));
                assertEquals(0, add.exit(), add.toString());
            }
            assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> {
                JsonNode eps = agent.cli("endpoint", "list", "-o", "json").json();
                int ready = 0;
                for (JsonNode e : eps) if ("ready".equals(e.path("state").asText())) ready++;
                return ready == 4;
            }), "four endpoints ready");
            for (E2eNet.Node b : List.of(backends.get(0), backends.get(1), other)) {
                assertTrue(E2eSupport.await(Duration.ofSeconds(10), () -> curl(client, "http://" + b.ip() + "/").equals(b.name())),
                        "the web server in " + b.name() + " answers directly");
            }

            // a bad frontend changes nothing and says why
            E2eSupport.Run bad = agent.cli("service", "add", "deathstar", "--frontend", vip, "--backend", "deathstar-1");
            assertNotEquals(0, bad.exit(), bad.toString());
            assertTrue(bad.err().contains("field frontend") && bad.err().contains("has no port"), bad.toString());
            assertEquals(0, agent.cli("service", "list", "-o", "json").json().size());

            E2eSupport.Run add = agent.cli("service", "add", "deathstar", "--frontend", vip + ":80",
                    "--backend", "deathstar-1", "--backend", "default/deathstar-2");
            assertEquals(0, add.exit(), add.toString());
            E2eSupport.Run list = agent.cli("service", "list");
            assertEquals(0, list.exit(), list.toString());
            String expected = String.join("\n",
                    "ID   Frontend" + " ".repeat(Math.max(3, (vip + ":80").length() - "Frontend".length() + 3)) + "Service Type   Backend",
                    "1    " + vip + ":80   ClusterIP      1 => " + backends.get(0).ip() + ":80 (active)",
                    " ".repeat(5 + (vip + ":80").length() + 3 + "Service Type".length() + 3) + "2 => " + backends.get(1).ip() + ":80 (active)",
                    "");
            assertEquals(expected, list.out(), list.toString());

            Set<String> seen = new HashSet<>();
            for (int i = 0; i < 40 && seen.size() < 2; i++) seen.add(curl(client, "http://" + vip + "/"));
            assertEquals(Set.of("deathstar-1", "deathstar-2"), seen, "both backends serve requests to the VIP");
            String byName = curl(client, "http://deathstar.default.svc.cluster.local/");
            assertTrue(byName.equals("deathstar-1") || byName.equals("deathstar-2"), "by name: \"" + byName + "\"");
            String byShortName = curl(client, "http://deathstar/");
            assertTrue(byShortName.startsWith("deathstar-"), "by short name: \"" + byShortName + "\"");

            // kill -9: the pinned maps keep balancing; a new agent restores the service with the same id and backends
            agent.kill9();
            seen.clear();
            for (int i = 0; i < 40 && seen.size() < 2; i++) seen.add(curl(client, "http://" + vip + "/"));
            assertEquals(Set.of("deathstar-1", "deathstar-2"), seen, "both backends serve while no agent runs");
            agent.restart();
            assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> agent.cli("service", "list").out().equals(expected)),
                    "the restarted agent has the same service: " + agent.cli("service", "list"));
            assertTrue(agent.cli("status").out().contains("services:           ok   1 services, 2/2 backends active"),
                    agent.cli("status").out());
            seen.clear();
            for (int i = 0; i < 40 && seen.size() < 2; i++) seen.add(curl(client, "http://" + vip + "/"));
            assertEquals(Set.of("deathstar-1", "deathstar-2"), seen, "both backends serve after the restart");

            // toServices: the client may reach the service's backends (through the VIP or directly), nothing else;
            // the policy follows the service as it changes (below)
            agent.importPolicy(www.resolve("to-deathstar.yaml"), """
                    apiVersion: cilium.io/v2
                    kind: CiliumNetworkPolicy
                    metadata: {name: to-deathstar}
                    spec:
                      endpointSelector: {matchLabels: {app: tiefighter}}
                      egress:
                      - toServices: [{k8sService: {serviceName: deathstar}}]
                        toPorts: [{ports: [{port: '80', protocol: TCP}]}]
                    """);
            assertTrue(E2eSupport.await(Duration.ofSeconds(10), () -> curl(client, "http://" + other.ip() + "/").isEmpty()),
                    "an endpoint that is no backend of the service is dropped");
            seen.clear();
            for (int i = 0; i < 40 && seen.size() < 2; i++) seen.add(curl(client, "http://" + vip + "/"));
            assertEquals(Set.of("deathstar-1", "deathstar-2"), seen, "the service's backends stay allowed");
            assertEquals("deathstar-2", curl(client, "http://" + backends.get(1).ip() + "/"), "directly too");
            // the trace, with the endpoints' own labels, names the service and its backends
            String src = String.join(",", labelsOf(agent, "default/tiefighter"));
            String dst = String.join(",", labelsOf(agent, "default/deathstar-1"));
            E2eSupport.Run trace = agent.cli("policy", "trace", "-s", src, "-d", dst, "--dport", "80/TCP");
            assertTrue(trace.out().contains("service deathstar (any namespace) (default/deathstar-1, default/deathstar-2)"),
                    trace.toString());

            // a backend that leaves is taken out
            assertEquals(0, agent.cli("endpoint", "delete", "default/deathstar-2").exit());
            assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> agent.cli("service", "get", "deathstar", "-o", "json")
                    .json().path("backends").path(1).path("state").asText().equals("not-found")), "deathstar-2 is not-found");
            for (int i = 0; i < 8; i++) assertEquals("deathstar-1", curl(client, "http://" + vip + "/"));
            assertEquals("deathstar-1", curl(client, "http://" + backends.get(0).ip() + "/"));

            E2eSupport.Run del = agent.cli("service", "delete", "deathstar");
            assertEquals(0, del.exit(), del.toString());
            assertEquals("", curl(client, "http://" + vip + "/"));
            assertTrue(E2eSupport.await(Duration.ofSeconds(10), () -> curl(client, "http://" + backends.get(0).ip() + "/")
                    .isEmpty()), "the service gone, its former backend is no longer allowed");
            assertFalse(Files.exists(Path.of("/etc/netns", client.netns(), "hosts")), "the hosts file is removed with the last service");
        } finally {
            for (Process p : servers) p.destroyForcibly();
            for (Path d : hostsDirs) TestFiles.deleteTree(d);
            TestFiles.deleteTree(www);
        }
    }
}
