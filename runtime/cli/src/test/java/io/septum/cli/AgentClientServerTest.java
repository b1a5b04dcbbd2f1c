package io.septum.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.AgentStatus;
import io.septum.api.Endpoint;
import io.septum.api.Labels;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.policy.ImportResult;
import io.septum.apiserver.internal.ApiServer;
import io.septum.apiserver.internal.MonitorHub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI and {@link AgentClient} against the real API server over a real unix socket, with in-memory services
 * behind it: the JSON both sides exchange, the paths, the status codes and the exit codes.
 */
class AgentClientServerTest {
    @TempDir
    Path dir;
    private Path socket;
    private FakeAgent agent;
    private MonitorHub hub;
    private ApiServer server;
    private AgentClient client;
    private final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void start() throws Exception {
        socket = dir.resolve("septum.sock");
        agent = new FakeAgent();
        hub = new MonitorHub(64, 4);
        agent.serverHealth = () -> server.health(); // the server's own, once it runs
        server = TestApi.start(socket, agent, hub, 8);
        client = new AgentClient(socket);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private CliRun cli(String... args) {
        return CliRun.at(socket, args);
    }

    // ---- the client --------------------------------------------------------------------------------------

    @Test
    void clientReadsModelObjects() {
        AgentStatus s = client.get("/v1/status", AgentStatus.class);
        assertTrue(s.ready());
        assertEquals(1234, s.startToReadyMillis());
        assertEquals(3, s.endpoints());
        assertEquals("default", s.enforcementMode());
        assertTrue(s.components().stream().anyMatch(c -> c.name().equals("api-server") && c.state().equals("ok")));

        List<Endpoint> eps = client.get("/v1/endpoints", new TypeReference<List<Endpoint>>() { });
        assertEquals(3, eps.size());
        assertEquals(List.of("10.199.0.2", "fd00::7"), eps.get(0).addresses());
        Endpoint e = client.get("/v1/endpoints/" + AgentClient.segment("rebels/xwing"), Endpoint.class);
        assertEquals(9, e.id());
        assertEquals(2, client.list("/v1/identities", io.septum.api.Identity.class).size());
    }

    @Test
    void clientThrowsTheAgentsErrorWithStatus() {
        AgentException e = assertThrows(AgentException.class, () -> client.get("/v1/endpoints/nope", Endpoint.class));
        assertEquals(404, e.status());
        assertTrue(e.getMessage().startsWith("no endpoint \"nope\""), e.getMessage());

        // a bare name held by two namespaces is not unique
        assertEquals(404, assertThrows(AgentException.class, () -> client.get("/v1/endpoints/xwing", Endpoint.class)).status());
    }

    @Test
    void clientPostsYamlWithOriginAndGetsValidationErrors() {
        ImportResult r = client.post("/v1/policies", "metadata:\n  name: rule1\n", "rule1.yaml", ImportResult.class);
        assertEquals(List.of("default/rule1"), r.policies());
        assertEquals(List.of("rule1.yaml"), agent.imports);

        AgentException e = assertThrows(AgentException.class, () -> client.post("/v1/policies",
                "metadata:\n  name: bad\nspec:\n  x:\n    port: \"99999\"\n", "bad.yaml", ImportResult.class));
        assertEquals(400, e.status());
        assertEquals(1, e.errors().size());
        assertEquals("spec.ingress[0].toPorts[0].ports[0].port", e.errors().get(0).field());
        assertEquals("bad.yaml", e.errors().get(0).file());
    }

    @Test
    void clientPutsAndDeletes() {
        client.put("/v1/namespaces/dev", Map.of("team", "dev"));
        assertEquals(Map.of("team", "dev"), agent.namespaces.get("dev"));
        client.delete("/v1/endpoints/7");
        assertEquals(2, agent.endpoints.size());
        assertNull(client.delete("/v1/endpoints/8", JsonNode.class));
    }

    @Test
    void unreachableAgentIsNamed() {
        AgentClient none = new AgentClient(dir.resolve("none.sock"));
        AgentException e = assertThrows(AgentException.class, () -> none.get("/v1/status", AgentStatus.class));
        assertTrue(e.unreachable());
        assertEquals("cannot reach the agent at " + dir.resolve("none.sock") + " (is 'septum agent' running?)", e.getMessage());
    }

    @Test
    void aSilentAgentTimesOut() throws Exception {
        Path silent = dir.resolve("silent.sock");
        try (java.nio.channels.ServerSocketChannel s = java.nio.channels.ServerSocketChannel.open(
                java.net.StandardProtocolFamily.UNIX)) {
            s.bind(java.net.UnixDomainSocketAddress.of(silent));
            AgentClient impatient = new AgentClient(silent, Duration.ofMillis(300));
            // the connection is accepted by the kernel's backlog and never answered
            AgentException e = assertThrows(AgentException.class, () -> impatient.get("/v1/status", AgentStatus.class));
            assertEquals(504, e.status());
            assertTrue(e.getMessage().contains("did not answer GET /v1/status within 300 ms"), e.getMessage());
        }
    }

    @Test
    void anAnswerBeforeTheWholeBodyIsStillRead() {
        // over the server's 16 MiB limit: refused with 413 while the client is still sending
        byte[] huge = new byte[17 * 1024 * 1024];
        AgentClient.Response r = client.exchange("POST", "/v1/policies", huge, "application/yaml", Map.of());
        assertEquals(413, r.status());
        assertTrue(r.text().contains("exceeds the limit"), r.text());
    }

    @Test
    void badJsonBodyIs400() {
        AgentException e = assertThrows(AgentException.class, () -> client.post("/v1/endpoints",
                Map.of("source", "netns", "spec", Map.of("name", "x")), JsonNode.class));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("sourceId is required"), e.getMessage());
        e = assertThrows(AgentException.class, () -> client.post("/v1/policy/trace", Map.of("srcc", List.of()), JsonNode.class));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("srcc"), e.getMessage());
    }

    @Test
    void streamDeliversEventsAsTheyHappenAndStopsOnInterrupt() throws Exception {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                client.stream("/v1/monitor", lines::add);
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        reader.start();
        await(() -> hub.subscribers() == 1);
        DatapathEvent event = new DatapathEvent(1_700_000_000_000_000_000L, "drop", 7, "INGRESS", "DROPPED", 133,
                "10.199.0.3", 41000, 301, "10.199.0.2", 80, 300, "TCP", 0, 2, false, 107);
        hub.publish(event);
        String line = lines.poll(5, TimeUnit.SECONDS);
        assertEquals(event, client.mapper().readValue(line, DatapathEvent.class));
        reader.interrupt();
        reader.join(5_000);
        assertFalse(reader.isAlive());
        assertNull(failure.get());
        await(() -> hub.subscribers() == 0);
    }

    // ---- the CLI -----------------------------------------------------------------------------------------

    @Test
    void statusPrintsTableOrJson() throws Exception {
        CliRun r = cli("status");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("Start to ready:     1234 ms"), r.out());
        assertTrue(r.out().contains("Source netns:"), r.out());
        r = cli("status", "-o", "json");
        assertEquals(1234, json.readTree(r.out()).get("startToReadyMillis").asLong());
    }

    @Test
    void endpointListGetAddDelete() throws Exception {
        CliRun r = cli("endpoint", "list");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().startsWith("ENDPOINT   NAME"), r.out());
        assertTrue(r.out().contains("rebels/xwing"), r.out());

        r = cli("-o", "json", "endpoint", "list");
        JsonNode list = json.readTree(r.out());
        assertTrue(list.isArray());
        assertEquals(3, list.size());
        assertEquals("ready", list.get(0).get("state").asText());

        r = cli("endpoint", "get", "rebels/xwing");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("Labels:             k8s:io.kubernetes.pod.namespace=rebels\n                    netns:app=xwing"), r.out());

        r = cli("endpoint", "add", "--name", "web", "--namespace", "prod", "--netns", "sept-tweb", "--label", "app=web");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().startsWith("Endpoint prod/web added (id "), r.out());
        assertEquals(List.of("netns:prod/web:sept-tweb:{app=web}"), agent.added);

        r = cli("endpoint", "add", "--name", "api", "--namespace", "prod", "--netns", "sept-tapi", "--label", "app=api",
                "--port", "http=8080", "--port", "dns=53/udp");
        assertEquals(0, r.code(), r.toString());
        assertEquals("netns:prod/api:sept-tapi:{app=api}:[http=8080/TCP, dns=53/UDP]", agent.added.get(1));
        r = cli("endpoint", "add", "--name", "w", "--netns", "n", "--port", "HTTP=80");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--port HTTP=80: invalid port name \"HTTP\""), r.err());

        r = cli("endpoint", "add", "--name", "w", "--netns", "n", "--label", "k8s:app=web");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("names a source"), r.err());

        r = cli("endpoint", "delete", "prod/web");
        assertEquals(0, r.code(), r.toString());
        assertEquals("Endpoint prod/web deleted\n", r.out());

        r = cli("endpoint", "get", "prod/web");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().startsWith("septum: no endpoint \"prod/web\""), r.err());
        assertEquals("", r.out());
    }

    @Test
    void serviceAddListGetDelete() throws Exception {
        CliRun r = cli("service", "add", "deathstar", "--frontend", "10.197.0.10:80", "--backend", "deathstar",
                "--backend", "gone");
        assertEquals(0, r.code(), r.toString());
        String table = "ID   Frontend         Service Type   Backend\n"
                + "1    10.197.0.10:80   ClusterIP      1 => 10.199.0.2:80 (active)\n"
                + "                                     2 => default/gone:80 (not-found)\n";
        assertEquals(table, r.out());
        assertEquals(table, cli("service", "list").out());
        JsonNode one = json.readTree(cli("service", "get", "1", "-o", "json").out());
        assertEquals("deathstar", one.get("name").asText());
        assertEquals("10.197.0.10", one.get("frontendIp").asText());
        assertEquals("not-found", one.get("backends").get(1).get("state").asText());
        r = cli("service", "add", "bad", "--frontend", "10.197.0.11");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("service default/bad: field frontend: \"10.197.0.11\" has no port"), r.toString());
        r = cli("service", "delete", "default/deathstar");
        assertEquals(0, r.code(), r.toString());
        assertEquals("Service default/deathstar deleted\n", r.out());
        assertEquals(0, agent.services.size());
        r = cli("service", "get", "deathstar");
        assertTrue(r.code() != 0 && r.err().contains("no service \"deathstar\""), r.toString());
    }

    @Test
    void namespaceSetAndList() {
        CliRun r = cli("namespace", "set", "dev", "team=dev", "tier=1");
        assertEquals(0, r.code(), r.toString());
        assertEquals(Map.of("team", "dev", "tier", "1"), agent.namespaces.get("dev"));
        r = cli("namespace", "list");
        assertTrue(r.out().contains("dev         team=dev\n            tier=1\n"), r.out());
        assertEquals(2, cli("namespace", "set", "dev", "broken").code());
        assertEquals(0, cli("namespace", "set", "dev").code());
        assertFalse(agent.namespaces.containsKey("dev"));
    }

    @Test
    void identityListAndGet() throws Exception {
        CliRun r = cli("identity", "list");
        assertTrue(r.out().contains("300   k8s:io.kubernetes.pod.namespace=default\n      netns:class=deathstar"), r.out());
        r = cli("identity", "get", "300", "-o", "json");
        assertEquals(300, json.readTree(r.out()).get("id").asLong());
        r = cli("identity", "get", "5");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("no identity 5"), r.err());
    }

    @Test
    void policyImportListGetDelete() throws Exception {
        Path f = dir.resolve("rule1.yaml");
        Files.writeString(f, "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: rule1\n"
                + "spec:\n  ingress:\n  - toPorts:\n    - rules:\n        http:\n        - method: POST\n"
                + "---\nkind: CiliumNetworkPolicy\nmetadata:\n  name: rule2\n  namespace: prod\n");
        CliRun r = cli("policy", "import", f.toString());
        assertEquals(0, r.code(), r.toString());
        assertEquals("Imported 2 policies, revision 2\n", r.out());
        assertEquals(List.of(f.toString()), agent.imports);

        r = CliRun.runWithInput("metadata:\n  name: rule3\n", "--socket", socket.toString(), "policy", "import", "-");
        assertEquals("Imported 1 policies, revision 3\n", r.out());
        assertEquals("stdin", agent.imports.get(1));

        r = cli("policy", "list");
        assertTrue(r.out().contains("rule2   prod"), r.out());
        r = cli("policy", "get", "rule1");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("a note from the agent"), r.out());
        assertTrue(r.out().contains("default/rule1 ingress[0]   yes (HTTP, via the L7 proxy)"), r.out());
        assertTrue(r.out().contains("  kind: CiliumNetworkPolicy"), r.out());
        r = cli("policy", "get", "rule2", "-n", "prod", "-o", "json");
        assertEquals("prod", json.readTree(r.out()).get("namespace").asText());

        r = cli("policy", "delete", "rule2", "-n", "prod");
        assertEquals(0, r.code(), r.toString());
        assertEquals("Deleted policy rule2, revision 4\n", r.out());
        r = cli("policy", "delete", "rule2");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("no policy named \"rule2\""), r.err());
    }

    @Test
    void clusterPoliciesAreDeletedByDeleteNeverByGet() {
        CliRun r = cli("policy", "get", "--cluster", "cw1");
        assertEquals(2, r.code(), "get has no --cluster: " + r);
        assertEquals(List.of(), agent.clusterDeletes);
        r = cli("policy", "delete", "--cluster", "prod/cw1");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("Deleted cluster policy prod/cw1"), r.out());
        r = cli("policy", "delete", "--cluster", "cw2", "-n", "-");
        assertEquals(0, r.code(), r.toString());
        assertEquals(List.of("prod/cw1", "/cw2"), agent.clusterDeletes);
        r = cli("policy", "delete", "--cluster", "other");
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("no cluster policy \"other\""), r.err());
    }

    @Test
    void clusterImportErrorsNameTheFileNotTheStore() throws Exception {
        Path bad = dir.resolve("bad.yaml");
        java.nio.file.Files.writeString(bad, "bad");
        CliRun r = cli("policy", "import", "--cluster", bad.toString());
        assertEquals(2, r.code(), r.toString());
        assertEquals(bad + ": document 1 (CiliumNetworkPolicy \"default/x\"): spec.ingress: bad rule\n", r.err());
    }

    @Test
    void policyImportErrorsAreValidationErrorsWithExit2() {
        Path bad = dir.resolve("bad.yaml");
        CliRun r = CliRun.runWithInput("", "--socket", socket.toString(), "policy", "import", bad.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("cannot read " + bad + ": no such file"), r.err());

        r = CliRun.runWithInput("metadata:\n  name: bad\n    port: \"99999\"\n", "--socket", socket.toString(),
                "policy", "import", "-");
        assertEquals(2, r.code(), r.toString());
        assertEquals("stdin: document 1 (CiliumNetworkPolicy \"default/bad\"): spec.ingress[0].toPorts[0].ports[0].port: "
                + "port 99999 is out of range 1-65535\n", r.err());
        assertEquals("", r.out());
    }

    @Test
    void traceSendsLabelsAndPrintsTheExplanation() throws Exception {
        CliRun r = cli("policy", "trace", "--src-labels", "org=empire,k8s:class=tiefighter",
                "--dst-labels", "class=deathstar", "--dport", "80/TCP");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().endsWith("Final verdict: ALLOWED\n"), r.out());
        assertEquals(Labels.parse(List.of("any:org=empire", "k8s:class=tiefighter",
                "k8s:io.kubernetes.pod.namespace=default"), "any"), agent.traced.get(0));
        // an explicit namespace or a reserved peer keeps what it says
        r = cli("policy", "trace", "-s", "reserved:world", "-d", "class=deathstar", "-d", "k8s:io.kubernetes.pod.namespace=prod",
                "--dport", "80", "-o", "json");
        assertEquals(0, r.code(), r.toString());
        assertFalse(json.readTree(r.out()).get("allowed").asBoolean());
        assertEquals(Labels.parse(List.of("reserved:world"), "any"), agent.traced.get(2));
        assertEquals(Labels.parse(List.of("any:class=deathstar", "k8s:io.kubernetes.pod.namespace=prod"), "any"),
                agent.traced.get(3));
        assertEquals(2, cli("policy", "trace", "-s", "a=b", "-d", "c=d", "--dport", "http").code());
    }

    @Test
    void traceSendsAnHttpRequestToJudgeAtL7() throws Exception {
        CliRun r = cli("policy", "trace", "-s", "org=empire", "-d", "class=deathstar", "--dport", "80/TCP",
                "--http-method", "PUT", "--http-path", "/v1/exhaust-port", "--http-header", "X-Has-Force: true",
                "--http-header", "Host: deathstar");
        assertEquals(0, r.code(), r.toString());
        assertEquals(new io.septum.api.policy.HttpRequestInfo("PUT", "/v1/exhaust-port", "deathstar",
                Map.of("x-has-force", List.of("true"), "host", List.of("deathstar"))), agent.tracedHttp.get(0));
        r = cli("policy", "trace", "-s", "org=empire", "-d", "class=deathstar", "--http-method", "GET");
        assertEquals(2, r.code(), "no port: " + r);
        assertTrue(r.err().contains("an HTTP trace needs --dport PORT/TCP"), r.err());
        assertEquals(1, agent.tracedHttp.size());
    }

    @Test
    void bpfCommands() throws Exception {
        CliRun r = cli("bpf", "endpoint", "list");
        assertTrue(r.out().contains("0x0001 ingress"), r.out());
        r = cli("bpf", "policy", "get", "default/deathstar");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("INGRESS     301        TCP        80      ALLOW    1         42"), r.out());
        r = cli("bpf", "ipcache", "list", "-o", "json");
        assertEquals(2, json.readTree(r.out()).size());
    }

    @Test
    void agentNotRunningIsExit1WithTheSocketNamed() {
        CliRun r = CliRun.run("--socket", dir.resolve("none.sock").toString(), "endpoint", "list");
        assertEquals(1, r.code());
        assertEquals("septum: cannot reach the agent at " + dir.resolve("none.sock") + " (is 'septum agent' running?)\n", r.err());
    }

    @Test
    void everyCommandHasHelp() {
        for (String[] c : List.of(new String[] {"--help"}, new String[] {"policy", "eval", "--help"},
                new String[] {"bpf", "policy", "get", "--help"}, new String[] {"monitor", "--help"})) {
            CliRun r = CliRun.run(c);
            assertEquals(0, r.code(), r.toString());
            assertTrue(r.out().startsWith("Usage: septum"), r.out());
        }
        assertTrue(CliRun.run("--version").out().startsWith("septum "));
        assertEquals(2, CliRun.run("endpoint", "lsit").code());
    }

    @Test
    void monitorPrintsEventsAsTheyComeAndStopsAfterCount() throws Exception {
        AtomicReference<CliRun> run = new AtomicReference<>();
        Thread t = new Thread(() -> run.set(cli("monitor", "--type", "drop", "--count", "2")));
        t.start();
        await(() -> hub.subscribers() == 1);
        DatapathEvent drop = new DatapathEvent(0, "drop", 7, "INGRESS", "DROPPED", 133, "10.199.0.3", 41000, 301,
                "10.199.0.2", 80, 300, "TCP", 0, 2, false, 107);
        DatapathEvent verdict = new DatapathEvent(0, "policy-verdict", 7, "INGRESS", "FORWARDED", 0, "10.199.0.4", 41001,
                302, "10.199.0.2", 80, 300, "TCP", 1, 2, false, 107);
        hub.publish(drop);
        hub.publish(verdict);
        hub.publish(drop);
        t.join(5_000);
        assertFalse(t.isAlive());
        CliRun r = run.get();
        assertEquals(0, r.code(), r.toString());
        String[] lines = r.out().split("\n");
        assertEquals(2, lines.length, r.out());
        for (String l : lines) {
            assertTrue(l.contains("10.199.0.3:41000 (ID:301) -> 10.199.0.2:80 (ID:300) drop INGRESS DROPPED (Policy denied)"), l);
        }
        await(() -> hub.subscribers() == 0);

        // -o json: the events as JSON lines
        t = new Thread(() -> run.set(cli("monitor", "-o", "json", "--count", "1")));
        t.start();
        await(() -> hub.subscribers() == 1);
        hub.publish(verdict);
        t.join(5_000);
        assertFalse(t.isAlive());
        assertEquals(verdict, client.mapper().readValue(run.get().out().strip(), DatapathEvent.class));

        // the stream ending without the user stopping it means the agent went away
        await(() -> hub.subscribers() == 0);
        t = new Thread(() -> run.set(cli("monitor")));
        t.start();
        await(() -> hub.subscribers() == 1);
        server.close();
        t.join(5_000);
        assertFalse(t.isAlive());
        assertEquals(1, run.get().code(), run.get().toString());
        assertTrue(run.get().err().startsWith("septum: the agent ended the event stream"), run.get().toString());
    }

    private static void await(java.util.function.BooleanSupplier c) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out");
            TimeUnit.MILLISECONDS.sleep(10);
        }
    }
}
