package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.testsupport.TestFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * HTTP rules in the running agent: the datapath's policy map sends to the proxy every connection an L7 rule
 * governs, also for a peer that an L3-only allow admits on every port (CVE-2024-52529; the proxy then admits
 * every request of that peer, Cilium's union), and {@code policy trace} judges one HTTP request through the REST
 * API. Real packets through the proxy are the L7 proxy's own tests.
 */
class L7PolicyIT {
    private static final String L7 = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: l7}
            spec:
              endpointSelector: {matchLabels: {class: deathstar}}
              ingress:
              - toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules:
                    http:
                    - {method: POST, path: /v1/request-landing}
              - fromEndpoints: [{matchLabels: {class: ops}}]
            """;

    @Test
    void governedConnectionsAreRedirectedAndTraceJudgesRequests() throws Exception {
        Path septum = E2eSupport.septum();
        Path work = Files.createTempDirectory("septum-l7-");
        try (E2eSupport.Agent agent = E2eSupport.Agent.start(septum); E2eNet net = new E2eNet()) {
            StarWarsFleet fleet = StarWarsFleet.deploy(septum, agent, net);
            E2eNet.Node ops = net.add("ops");
            E2eNet.addEndpoint(agent, ops, "class=ops");
            Path f = work.resolve("l7.yaml");
            agent.importPolicy(f, L7);

            String ds = "default/" + fleet.deathstar().name();
            assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> identity(agent, "default/" + ops.name()) > 0),
                    "ops has an identity");
            long opsId = identity(agent, "default/" + ops.name());
            long tieId = identity(agent, "default/" + fleet.tiefighter().name());
            assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> has(agent, ds, opsId, "TCP", "80", "REDIRECT")),
                    () -> "ops's L3-only allow must not bypass the proxy on 80: " + bpf(agent, ds));
            assertTrue(has(agent, ds, opsId, "ANY", "*", "ALLOW"), () -> bpf(agent, ds).toString());
            assertTrue(has(agent, ds, 0, "TCP", "80", "REDIRECT"), () -> bpf(agent, ds).toString());
            assertTrue(has(agent, ds, tieId, "TCP", "80", "REDIRECT"), () -> bpf(agent, ds).toString());
            assertFalse(has(agent, ds, tieId, "TCP", "80", "ALLOW"), () -> bpf(agent, ds).toString());

            // the proxy admits every request of ops (Cilium's union: its L3-only allow is an allow-all rule there)
            JsonNode ops80 = agent.cli("policy", "trace", "-s", "class=ops", "-d", "class=deathstar,org=empire",
                    "--dport", "80/TCP", "--http-method", "PUT", "--http-path", "/v1/exhaust-port", "-o", "json").json();
            assertTrue(ops80.path("allowed").asBoolean(false), ops80.toString());
            assertEquals("default/l7 ingress[1] (L3-only allow of every port without HTTP rules: any request)",
                    ops80.path("ingress").path("rule").asText(), ops80.toString());
            // a peer that only the HTTP rules admit on 80 is judged by them
            JsonNode denied = agent.cli("policy", "trace", "-s", "class=xwing,org=alliance", "-d",
                    "class=deathstar,org=empire", "--dport", "80/TCP", "--http-method", "PUT", "--http-path",
                    "/v1/exhaust-port", "-o", "json").json();
            assertFalse(denied.path("allowed").asBoolean(true), denied.toString());
            assertEquals("no HTTP rule matches PUT /v1/exhaust-port", denied.path("ingress").path("rule").asText(),
                    denied.toString());
            JsonNode landing = agent.cli("policy", "trace", "-s", "class=xwing,org=alliance", "-d",
                    "class=deathstar,org=empire", "--dport", "80/TCP", "--http-method", "POST", "--http-path",
                    "/v1/request-landing", "-o", "json").json();
            assertTrue(landing.path("allowed").asBoolean(false), landing.toString());
            assertEquals("default/l7 ingress[0] http[0]", landing.path("ingress").path("rule").asText(), landing.toString());
            // rule1 allows the empire on the same port entry without HTTP rules: every request of a tiefighter passes
            JsonNode tie = agent.cli("policy", "trace", "-s", "class=tiefighter,org=empire", "-d",
                    "class=deathstar,org=empire", "--dport", "80/TCP", "--http-method", "PUT", "--http-path",
                    "/v1/exhaust-port", "-o", "json").json();
            assertTrue(tie.path("allowed").asBoolean(false), tie.toString());
            assertTrue(tie.path("ingress").path("rule").asText().startsWith("default/rule1 ingress[0] (L3/L4 allow of 80/TCP"),
                    tie.toString());
        } finally {
            TestFiles.deleteTree(work);
        }
    }

    private static long identity(E2eSupport.Agent agent, String name) {
        for (JsonNode e : agent.cli("endpoint", "list", "-o", "json").json()) {
            if (name.equals(e.path("namespace").asText() + "/" + e.path("name").asText())) return e.path("identity").asLong();
        }
        return 0;
    }

    private static List<JsonNode> bpf(E2eSupport.Agent agent, String endpoint) {
        List<JsonNode> out = new ArrayList<>();
        agent.cli("bpf", "policy", "get", endpoint, "-o", "json").json().forEach(out::add);
        return out;
    }

    private static boolean has(E2eSupport.Agent agent, String endpoint, long identity, String proto, String ports,
                               String action) {
        for (JsonNode e : bpf(agent, endpoint)) {
            if ("INGRESS".equals(e.path("direction").asText()) && e.path("identity").asLong() == identity
                    && proto.equals(e.path("protocol").asText()) && ports.equals(e.path("ports").asText())
                    && action.equals(e.path("action").asText())) {
                return true;
            }
        }
        return false;
    }
}
