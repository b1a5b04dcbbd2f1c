package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.testsupport.TestFiles;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue 5's tools against the real distribution with real packets between network namespaces:
 * <ul>
 * <li>a policy in audit mode ({@code policy.septum.io/mode: audit}) lets a connection it would drop through and
 *     reports it as an AUDIT flow; so does an endpoint in audit mode ({@code endpoint config ID audit=on});</li>
 * <li>{@code policy suggest} from observed traffic, imported: every observed connection still passes, an unobserved
 *     one is denied;</li>
 * <li>{@code policy list} shows each rule's hits, and the Prometheus endpoint (turned on in a test install's
 *     {@code etc/io.septum.metrics.cfg}) serves verdicts, drops, flows, rule hits, endpoints and realization latency.</li>
 * </ul>
 */
class AuditSuggestMetricsIT {
    private static final Duration ALLOW = Duration.ofMillis(1500);
    private static final Duration DENY = Duration.ofMillis(500);

    @Test
    void auditModeSuggestionRoundTripRuleHitsAndMetrics() throws Exception {
        Path septum = E2eSupport.septum();
        Path dist = septum.getParent().getParent();
        Path home = Files.createTempDirectory("septum-e2e-home-");
        int port = 20000 + Integer.parseInt(E2eSupport.rand(), 16) % 9000;
        try {
            // A test install: the distribution's jars and bundles, an etc/ of its own that turns metrics on.
            for (String d : List.of("lib", "bundle", "optional", "examples", "bin")) {
                Files.createSymbolicLink(home.resolve(d), dist.resolve(d));
            }
            Files.createDirectories(home.resolve("deploy"));
            Files.createDirectories(home.resolve("etc"));
            try (var s = Files.list(dist.resolve("etc"))) {
                for (Path f : s.toList()) if (Files.isRegularFile(f)) Files.copy(f, home.resolve("etc").resolve(f.getFileName()));
            }
            Files.writeString(home.resolve("etc/io.septum.metrics.cfg"), "enabled=true\naddress=127.0.0.1\nport=" + port + "\n");
            try (E2eSupport.Agent agent = E2eSupport.Agent.start(septum, "--home", home.toString()); E2eNet net = new E2eNet()) {
                run(agent, net, port);
            }
        } finally {
            TestFiles.deleteTree(home);
        }
    }

    private void run(E2eSupport.Agent agent, E2eNet net, int port) throws Exception {
        E2eNet.Node server = net.add("server");
        E2eNet.Node client = net.add("client");
        E2eNet.Node other = net.add("other");
        net.httpEcho(server, 80);
        net.echo(server, 8050);
        for (E2eNet.Node n : List.of(server, client, other)) E2eNet.addEndpoint(agent, n, "app=" + n.name());
        assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> agent.readyEndpoints() >= 3), "three endpoints ready");

        // 1. A policy in audit mode: what it would drop passes, as AUDIT.
        Path dir = agent.base;
        Path audit = dir.resolve("audit.yaml");
        Files.writeString(audit, policy("trial", true));
        check(agent.cli("policy", "import", audit.toString()));
        assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> net.tcp(other, server, 80, ALLOW)),
                "an audit-mode policy does not drop");
        JsonNode auditFlow = awaitFlow(agent, "--verdict", "AUDIT", "--from-endpoint", other.name(), "--to-endpoint", server.name());
        assertEquals("INGRESS", auditFlow.path("traffic_direction").asText(), auditFlow.toString());
        E2eSupport.Run get = agent.cli("policy", "get", "trial");
        assertTrue(get.out().contains("audit mode") && get.out().contains("HITS"), get.toString());

        // 2. The same policy enforced drops; the endpoint in audit mode lets it through again, as AUDIT.
        Files.writeString(audit, policy("trial", false));
        check(agent.cli("policy", "import", audit.toString()));
        assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> !net.tcp(other, server, 80, DENY)), "enforced");
        E2eSupport.Run on = agent.cli("endpoint", "config", server.name(), "audit=on");
        check(on);
        assertTrue(on.out().contains("audit on"), on.toString());
        assertTrue(agent.cli("endpoint", "get", server.name(), "-o", "json").json().path("audit").asBoolean());
        assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> net.tcp(other, server, 80, ALLOW)),
                "an endpoint in audit mode does not drop");
        check(agent.cli("endpoint", "config", server.name(), "audit=off"));
        assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> !net.tcp(other, server, 80, DENY)), "enforced again");
        check(agent.cli("policy", "delete", "trial"));

        // 3. Suggest from what the server did since now, apply, and check both ways.
        Instant since = Instant.now();
        assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> net.tcp(client, server, 80, ALLOW)));
        assertTrue(net.tcp(client, server, 8050, ALLOW));
        awaitFlow(agent, "--from-endpoint", client.name(), "--to-endpoint", server.name(), "--port", "8050",
                "--type", "policy-verdict", "--since", since.toString());
        E2eSupport.Run suggest = agent.cli("policy", "suggest", "--endpoint", server.name(), "--since", since.toString());
        check(suggest);
        String yaml = suggest.out();
        assertTrue(yaml.contains("kind: CiliumNetworkPolicy") && yaml.contains("netns:app") && yaml.contains(": client")
                && yaml.contains("port: \"8050\"") && !yaml.contains("app: other"), yaml);
        Path suggested = dir.resolve("suggested.yaml");
        Files.writeString(suggested, yaml);
        check(agent.cli("policy", "import", suggested.toString()));
        assertTrue(E2eSupport.await(Duration.ofSeconds(20), () -> !net.tcp(other, server, 80, DENY)),
                "an unobserved connection is denied\n" + yaml);
        assertTrue(net.tcp(client, server, 80, ALLOW), "observed: client -> server:80 still passes\n" + yaml);
        assertTrue(net.tcp(client, server, 8050, ALLOW), "observed: client -> server:8050 still passes\n" + yaml);
        assertFalse(net.tcp(other, server, 8050, DENY), "unobserved: other -> server:8050 is denied");
        // septum probe: one real attempt from an endpoint's namespace, with the verdict the agent recorded for it
        E2eSupport.Run denied = agent.cli("probe", other.name(), server.name(), "80", "-o", "json");
        assertEquals(1, denied.exit(), "a dropped attempt exits 1\n" + denied);
        JsonNode dj = denied.json();
        assertEquals("timed-out", dj.path("result").asText(), denied.toString());
        assertTrue(java.util.stream.StreamSupport.stream(dj.path("flows").spliterator(), false)
                .anyMatch(f -> f.path("verdict").asText().equals("DROPPED")), "the drop is shown\n" + denied);
        E2eSupport.Run allowed = agent.cli("probe", client.name(), server.name(), "80/TCP");
        assertEquals(0, allowed.exit(), allowed.toString());
        assertTrue(allowed.out().contains(": connected") && allowed.out().contains("FORWARDED"), allowed.toString());
        E2eSupport.Run request = agent.cli("probe", client.name(), server.name(), "80/HTTP", "--method", "POST",
                "--path", "/v1/request-landing", "-o", "json");
        assertEquals(0, request.exit(), request.toString());
        assertEquals("answered", request.json().path("result").asText(), request.toString());
        assertEquals("HTTP 200", request.json().path("detail").asText(), request.toString());
        E2eSupport.Run echo = agent.cli("probe", client.name(), server.name(), "8050/HTTP", "-o", "json");
        assertEquals("error", echo.json().path("result").asText(), "a plain echo is no HTTP server\n" + echo);
        E2eSupport.Run droppedRequest = agent.cli("probe", other.name(), server.name(), "80/HTTP");
        assertEquals(1, droppedRequest.exit(), droppedRequest.toString());
        E2eSupport.Run ping = agent.cli("probe", client.name(), server.name(), "ICMP", "-o", "json");
        assertEquals(1, ping.exit(), "the suggested policy opens TCP only: the ping is dropped\n" + ping);
        assertEquals("timed-out", ping.json().path("result").asText(), ping.toString());
        E2eSupport.Run bad = agent.cli("probe", client.name(), server.name(), "http");
        assertEquals(2, bad.exit(), bad.toString());
        JsonNode json = agent.cli("policy", "suggest", "--endpoint", server.name(), "--since", since.toString(), "-o", "json").json();
        assertEquals("cilium.io/v2", json.path("apiVersion").asText(), json.toString());

        // 4. Rule hits: the suggested rule decided packets; policy list shows them.
        String policyName = "suggested-server";
        assertTrue(E2eSupport.await(Duration.ofSeconds(10), () -> {
            for (JsonNode h : agent.cli("policy", "list", "--rules", "-o", "json").json()) {
                if (h.path("rule").path("policy").asText().equals("default/" + policyName) && h.path("hits").asLong() > 0) return true;
            }
            return false;
        }), agent.cli("policy", "list", "--rules").toString());
        E2eSupport.Run list = agent.cli("policy", "list");
        assertTrue(list.out().contains("HITS") && list.out().contains(policyName), list.toString());

        // 5. Metrics.
        String[] body = new String[1];
        boolean ok = E2eSupport.await(Duration.ofSeconds(20), () -> {
            body[0] = scrape(port);
            return body[0] != null
                    && positive(body[0], "septum_policy_rule_hits_total\\{namespace=\"default\",policy=\"" + policyName + "\",rule=\"ingress\\[0\\]\",rule_id=\"\\d+\"\\}")
                    && positive(body[0], "septum_policy_verdicts_total\\{action=\"audit\",direction=\"ingress\",match=\"[^\"]+\"\\}")
                    && positive(body[0], "septum_drops_total\\{reason=\"POLICY_DENIED\"\\}")
                    && positive(body[0], "septum_flows_processed_total\\{type=\"policy-verdict\",verdict=\"FORWARDED\"\\}")
                    && positive(body[0], "septum_policy_realization_seconds_count")
                    && body[0].contains("septum_endpoints{source=\"netns\",state=\"ready\"} 3");
        });
        assertTrue(ok, "metrics:\n" + body[0]);
        E2eSupport.Run status = agent.cli("status");
        assertTrue(status.out().contains("serving http://127.0.0.1:" + port + "/metrics"), status.toString());
    }

    private static String policy(String name, boolean audit) {
        return "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: " + name + "\n"
                + (audit ? "  annotations:\n    policy.septum.io/mode: audit\n" : "")
                + "spec:\n  endpointSelector: {matchLabels: {app: server}}\n  ingress:\n"
                + "  - fromEndpoints: [{matchLabels: {app: client}}]\n    toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]\n";
    }

    private static boolean positive(String body, String series) {
        Matcher m = Pattern.compile("(?m)^" + series + " ([0-9.eE+]+)$").matcher(body);
        while (m.find()) if (Double.parseDouble(m.group(1)) > 0) return true;
        return false;
    }

    private static String scrape(int port) {
        try {
            HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + port + "/metrics").openConnection();
            c.setConnectTimeout(2000);
            c.setReadTimeout(5000);
            try (InputStream in = c.getInputStream()) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            return null;
        }
    }

    private static void check(E2eSupport.Run r) {
        assertEquals(0, r.exit(), r.toString());
    }

    private static JsonNode awaitFlow(E2eSupport.Agent agent, String... filters) {
        JsonNode[] found = new JsonNode[1];
        boolean ok = E2eSupport.await(Duration.ofSeconds(20), () -> {
            List<String> args = new ArrayList<>(List.of("observe", "-o", "json", "--last", "1"));
            args.addAll(List.of(filters));
            E2eSupport.Run r = agent.cli(args.toArray(String[]::new));
            for (String line : r.out().split("\n")) {
                if (line.isBlank()) continue;
                try {
                    found[0] = E2eSupport.JSON.readTree(line);
                    return true;
                } catch (IOException e) {
                    throw new AssertionError("not JSON: " + line, e);
                }
            }
            return false;
        });
        assertTrue(ok, "a flow with " + List.of(filters) + "\n" + agent.cli("observe", "--last", "30"));
        return found[0];
    }
}
