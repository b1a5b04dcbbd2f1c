package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.ClusterNode;
import io.septum.api.ClusterStatus;
import io.septum.api.Endpoint;
import io.septum.api.EndpointState;
import io.septum.api.IpcacheEntry;
import io.septum.api.policy.TestCase;
import io.septum.cli.AgentClient;
import io.septum.cli.connectivity.LabAgents;
import io.septum.cli.connectivity.LabCluster;
import io.septum.cli.connectivity.LabRuntime;
import io.septum.cli.connectivity.NetLab;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Cluster mode's failure semantics with real agents and real packets, on two nodes of the multi-node lab with an
 * etcd this test owns (so that it can kill it): etcd killed and restarted under traffic (fail static: established
 * and new connections keep their verdicts, status says degraded, a new label set waits for its identity and gets
 * it when etcd is back), and a node that dies (its leased keys expire and the other node forgets its endpoints).
 * Runs in a failsafe JVM of its own (itests/pom.xml, execution cluster-failures).
 */
class ClusterFailuresIT {
    private static final String POLICY = String.join("\n",
            "apiVersion: cilium.io/v2",
            "kind: CiliumNetworkPolicy",
            "metadata: {name: db-from-web}",
            "spec:",
            "  endpointSelector: {matchLabels: {app: db}}",
            "  ingress:",
            "  - fromEndpoints: [{matchLabels: {app: web}}]",
            "    toPorts: [{ports: [{port: \"5432\", protocol: TCP}]}]",
            "");
    private static final Duration PROBE = Duration.ofMillis(800);
    /** A connection that must pass gets more: a loaded machine must not read as a drop. */
    private static final Duration ALLOWED_PROBE = Duration.ofMillis(3000);

    private E2eEtcd etcd;
    private LabCluster cluster;
    private LabRuntime lab;
    private LabAgents agents;
    private Process stream;

    @AfterEach
    void cleanUp() throws Exception {
        if (stream != null) stream.destroyForcibly();
        if (agents != null) agents.close();
        if (lab != null) lab.close();
        if (cluster != null) cluster.close();
        if (etcd != null) etcd.close();
    }

    @Test
    void etcdKilledUnderTrafficChangesNoVerdictAndANodeThatDiesIsForgotten() throws Exception {
        Path home = E2eSupport.distribution();
        etcd = E2eEtcd.started();
        cluster = LabCluster.start(2, etcd.url(), home, Duration.ofSeconds(120), System.err, 6);
        LabRuntime.Factory factory = cluster.runtime();
        lab = factory.create('c');
        agents = factory.agents(null, System.err::println);
        AgentClient node0 = cluster.members().get(0).client();
        AgentClient node1 = cluster.members().get(1).client();

        TestCase.Endpoint webSpec = new TestCase.Endpoint("web", "default", Map.of("app", "web"), List.of(), 0);
        TestCase.Endpoint otherSpec = new TestCase.Endpoint("other", "default", Map.of("app", "other"), List.of(), 0);
        TestCase.Endpoint dbSpec = new TestCase.Endpoint("db", "default", Map.of("app", "db"), List.of("5432", "80"), 1);
        NetLab.Node web = lab.addEndpoint(webSpec);
        NetLab.Node other = lab.addEndpoint(otherSpec);
        NetLab.Node db = lab.addEndpoint(dbSpec);
        lab.listen(db, List.of(new NetLab.Port(5432, "TCP"), new NetLab.Port(80, "TCP")));
        lab.awaitListening(Duration.ofSeconds(10));
        agents.register(lab, web, webSpec);
        agents.register(lab, other, otherSpec);
        agents.register(lab, db, dbSpec);
        agents.awaitReady(Duration.ofSeconds(60));
        agents.enforce("it.yaml", POLICY, List.of(), Duration.ofSeconds(60));
        assertVerdicts(web, other, db);

        // node 0 lists node 1's endpoint as remote, with node 1's identity for it (CLI and REST print one model)
        Endpoint dbThere = endpoint(node1, "db");
        E2eSupport.Run remote = E2eSupport.exec(Duration.ofSeconds(60), List.of(E2eSupport.septum().toString(), "--socket",
                node0.socket().toString(), "endpoint", "list", "--remote", "-o", "json"));
        assertEquals(0, remote.exit(), remote.toString());
        boolean listed = false;
        for (com.fasterxml.jackson.databind.JsonNode r : remote.json()) {
            listed |= r.path("ip").asText().equals(db.ip()) && r.path("identity").asLong() == dbThere.identity()
                    && r.path("node").asText().equals(cluster.members().get(1).name()) && r.path("name").asText().equals("db");
        }
        assertTrue(listed, "db in node 0's remote endpoints: " + remote.out());
        E2eSupport.Run table = E2eSupport.exec(Duration.ofSeconds(60), List.of(E2eSupport.septum().toString(), "--socket",
                node0.socket().toString(), "endpoint", "list", "--remote"));
        assertTrue(table.out().contains("kvstore:" + cluster.members().get(1).name()), table.out());

        // every node's flows through node 0's relay, over the nodes' mutually authenticated peer service
        E2eSupport.Run flows = E2eSupport.exec(Duration.ofSeconds(60), List.of(E2eSupport.septum().toString(), "--socket",
                node0.socket().toString(), "observe", "--cluster", "--last", "500", "-o", "json"));
        assertEquals(0, flows.exit(), flows.toString());
        java.util.Set<String> nodesSeen = new java.util.TreeSet<>();
        for (String line : flows.out().split("\n")) {
            if (line.isBlank()) continue;
            com.fasterxml.jackson.databind.JsonNode f = E2eSupport.JSON.readTree(line);
            assertFalse(f.has("node_status") && !"connected".equals(f.path("node_status").path("state").asText()),
                    "a node reported in the stream: " + line);
            if (f.has("node_name")) nodesSeen.add(f.path("node_name").asText());
        }
        assertEquals(new java.util.TreeSet<>(List.of(cluster.members().get(0).name(), cluster.members().get(1).name())), nodesSeen,
                "flows of both nodes in one stream:\n" + flows.out());

        // a long-lived connection across nodes, echoing a line at a time
        stream = new ProcessBuilder("ip", "netns", "exec", web.netns(), "socat", "-", "TCP4:" + db.ip() + ":5432").start();
        BlockingQueue<String> echoes = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(stream.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) echoes.add(l);
            } catch (IOException ignored) {
                // the stream ended; the next echo check fails
            }
        }, "it-echo");
        reader.setDaemon(true);
        reader.start();
        OutputStream toDb = stream.getOutputStream();
        assertEcho(toDb, echoes, "before");

        // etcd dies: enforcement goes on unchanged, status says so
        etcd.kill();
        await("both nodes report etcd unreachable", Duration.ofSeconds(30), () -> !"ok".equals(node0.get("/v1/cluster", ClusterStatus.class).state())
                && !"ok".equals(node1.get("/v1/cluster", ClusterStatus.class).state()));
        System.err.println("etcd down: node 0 says " + node0.get("/v1/cluster", ClusterStatus.class));
        for (int i = 0; i < 5; i++) assertEcho(toDb, echoes, "etcd down " + i);
        assertVerdicts(web, other, db);
        // a label set no node has seen waits for its number rather than take a node-local one
        TestCase.Endpoint newSpec = new TestCase.Endpoint("newcomer", "default", Map.of("app", "newcomer"), List.of(), 0);
        NetLab.Node newcomer = lab.addEndpoint(newSpec);
        agents.register(lab, newcomer, newSpec);
        await("the newcomer waits for its identity", Duration.ofSeconds(30), () -> state(node0, "newcomer") == EndpointState.WAITING_FOR_IDENTITY);
        assertEcho(toDb, echoes, "newcomer waiting");

        // etcd is back (same data, same port): the nodes recover, the newcomer gets its identity on both
        etcd.start();
        await("both nodes ok again", Duration.ofSeconds(60), () -> "ok".equals(node0.get("/v1/cluster", ClusterStatus.class).state())
                && "ok".equals(node1.get("/v1/cluster", ClusterStatus.class).state()));
        await("the newcomer ready", Duration.ofSeconds(60), () -> state(node0, "newcomer") == EndpointState.READY);
        Endpoint nc = endpoint(node0, "newcomer");
        await("node 1 knows the newcomer", Duration.ofSeconds(30), () -> node1.list("/v1/bpf/ipcache", IpcacheEntry.class).stream()
                .anyMatch(c -> c.prefix().equals(newcomer.ip() + "/32") && c.identity() == nc.identity()));
        assertEcho(toDb, echoes, "after etcd is back");
        assertVerdicts(web, other, db);
        assertEquals(2, node0.list("/v1/cluster/nodes", ClusterNode.class).size());

        // node 1 dies (kill -9): its lease runs out, node 0 forgets its endpoints and its registration
        String dead = cluster.members().get(1).name();
        cluster.members().get(1).agent().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        long t0 = System.nanoTime();
        await("node 0 forgets node 1", Duration.ofSeconds(40), () -> node0.list("/v1/bpf/ipcache", IpcacheEntry.class).stream()
                .noneMatch(c -> c.source().equals("kvstore:" + dead))
                && node0.list("/v1/cluster/nodes", ClusterNode.class).stream().noneMatch(n -> n.name().equals(dead)));
        System.err.println("a dead node's entries left the other node's ipcache after " + (System.nanoTime() - t0) / 1_000_000
                + " ms (lease TTL 6 s)");
    }

    private void assertVerdicts(NetLab.Node web, NetLab.Node other, NetLab.Node db) {
        assertEquals(NetLab.Verdict.ALLOWED, lab.probe(web, db.ip(), 5432, "TCP", ALLOWED_PROBE).verdict(), "web -> db:5432");
        assertEquals(NetLab.Verdict.DENIED, lab.probe(web, db.ip(), 80, "TCP", PROBE).verdict(), "web -> db:80");
        assertEquals(NetLab.Verdict.DENIED, lab.probe(other, db.ip(), 5432, "TCP", PROBE).verdict(), "other -> db:5432");
    }

    private static void assertEcho(OutputStream out, BlockingQueue<String> echoes, String what) throws Exception {
        String token = "line-" + what.replace(' ', '-') + "-" + System.nanoTime();
        out.write((token + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        String got = echoes.poll(5, TimeUnit.SECONDS);
        assertEquals(token, got, "the established connection echoes (" + what + ")");
    }

    private static EndpointState state(AgentClient c, String name) {
        Endpoint e = endpoint(c, name);
        return e == null ? null : e.state();
    }

    private static Endpoint endpoint(AgentClient c, String name) {
        return c.list("/v1/endpoints", Endpoint.class).stream().filter(e -> e.name().equals(name)).findFirst().orElse(null);
    }

    private static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            try {
                if (condition.getAsBoolean()) return;
            } catch (RuntimeException e) {
                // an agent busy with its store: ask again
            }
            Thread.sleep(200);
        }
        assertTrue(condition.getAsBoolean(), "timed out waiting until " + what);
    }
}
