package io.septum.webui.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.Endpoint;
import io.septum.api.EndpointManager;
import io.septum.api.EndpointSpec;
import io.septum.api.EndpointState;
import io.septum.api.IpcacheEntry;
import io.septum.api.SourceHealth;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowRelay;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.RuleRef;
import io.septum.apiserver.testing.FakeFlowObserver;
import io.septum.testsupport.StubPolicyRepository;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The UI's server on a real loopback socket, with the real policy engine (rule1 of the Star Wars demo) and a fake
 * flow observer: pages, the JSON API and its filters, the Host check, the live stream, and why a flow got its verdict.
 */
class WebUiServerTest {
    static final String RULE1 = """
            apiVersion: "cilium.io/v2"
            kind: CiliumNetworkPolicy
            metadata:
              name: "rule1"
            spec:
              endpointSelector:
                matchLabels: {org: empire, class: deathstar}
              ingress:
              - fromEndpoints:
                - matchLabels: {org: empire}
                toPorts:
                - ports:
                  - {port: "80", protocol: TCP}
            """;

    private final ObjectMapper mapper = new ObjectMapper();
    private final FakeFlowObserver observer = new FakeFlowObserver();
    private Repo repo;
    private FakeBackend backend;
    private WebUiServer server;
    private String base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeEach
    void start() throws Exception {
        PolicyEngine engine = ServiceLoader.load(PolicyEngine.class).findFirst().orElseThrow();
        repo = new Repo(engine.parse("rule1.yaml", RULE1));
        backend = new FakeBackend();
        backend.set(PolicyRepository.class, repo);
        backend.set(FlowObserver.class, observer);
        backend.hits = null; // no source of hit counts until a test sets one
        server = new WebUiServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), new UiApi(backend), 2);
        server.start();
        base = "http://127.0.0.1:" + server.boundAddress().getPort();
        observer.publish(flow(1, Flow.FORWARDED, "tiefighter", "INGRESS", repo.rule1(), "default/rule1 ingress[0]"));
        observer.publish(flow(2, Flow.DROPPED, "xwing", "INGRESS", 0, "default deny: no rule allows"));
        observer.publish(flow(3, Flow.FORWARDED, "xwing", "EGRESS", 0, "no rule selects endpoint for egress (default allow)"));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    static Flow flow(long t, String verdict, String src, String direction, int ruleId, String rule) {
        boolean drop = Flow.DROPPED.equals(verdict);
        String org = src.equals("xwing") ? "alliance" : "empire";
        return new Flow(null, t, verdict, drop ? 133 : 0, drop ? "POLICY_DENIED" : null,
                new FlowIp("10.199.16.4", "10.199.16.1", "IPv4"), new FlowL4("TCP", 40000, 80, List.of("SYN")),
                new FlowEndpoint(4, 258, "default", src, List.of("netns:class=" + src, "netns:org=" + org,
                        "k8s:io.kubernetes.pod.namespace=default")),
                new FlowEndpoint(1, 256, "default", "deathstar", List.of("netns:class=deathstar", "netns:org=empire",
                        "k8s:io.kubernetes.pod.namespace=default")), "L3_L4",
                drop ? Flow.TYPE_DROP : Flow.TYPE_POLICY_VERDICT, direction,
                direction.equals("INGRESS") ? Flow.TO_ENDPOINT : Flow.FROM_ENDPOINT, ruleId != 0 ? Flow.MATCH_L3_L4 : Flow.MATCH_NONE,
                direction.equals("INGRESS") ? 1 : 4, ruleId, ruleId != 0 ? "default/rule1" : null, rule, false, null);
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode why(Flow f) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/api/why"))
                .POST(HttpRequest.BodyPublishers.ofString(mapper.writeValueAsString(f)))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return mapper.readTree(r.body());
    }

    @Test
    void servesThePageAndOnlyItsOwnFiles() throws Exception {
        HttpResponse<String> page = get("/");
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<div id=\"graph\">"), page.body());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        HttpResponse<String> js = get("/app.js");
        assertEquals(200, js.statusCode());
        assertTrue(js.body().contains("septumUi"), "the bundle holds the app");
        assertEquals(404, get("/../pom.xml").statusCode());
        assertEquals(404, get("/%2e%2e/pom.xml").statusCode());
        assertEquals(404, get("/webui/index.html").statusCode());
        assertEquals(404, get("/nothing.js").statusCode());
    }

    @Test
    void refusesAHostThatIsNotLoopback() throws Exception {
        // what a page of another site sends after rebinding its name to 127.0.0.1 (the JDK client will not set Host)
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.boundAddress().getPort())) {
            s.getOutputStream().write(("GET /api/flows HTTP/1.1\r\nHost: evil.example:" + server.boundAddress().getPort()
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 403"), answer);
            assertTrue(answer.contains("is not this loopback server"), answer);
        }
        assertTrue(LoopbackAddress.hostAllowed("localhost:12000"));
        assertTrue(LoopbackAddress.hostAllowed("[::1]:12000"));
        assertTrue(LoopbackAddress.hostAllowed("127.0.0.1"));
        assertFalse(LoopbackAddress.hostAllowed("10.0.0.1:12000"));
        assertFalse(LoopbackAddress.hostAllowed(null));
    }

    @Test
    void flowsTakeObservesFilters() throws Exception {
        JsonNode all = mapper.readTree(get("/api/flows").body());
        assertEquals(3, all.size());
        JsonNode drops = mapper.readTree(get("/api/flows?verdict=DROPPED&from-label=class%3Dxwing").body());
        assertEquals(1, drops.size(), drops.toString());
        assertEquals("xwing", drops.get(0).path("source").path("pod_name").asText());
        // the filter bar sends its empty fields: they mean "any"
        assertEquals(3, mapper.readTree(get("/api/flows?verdict=&to-endpoint=&last=").body()).size());
        assertEquals(1, mapper.readTree(get("/api/flows?last=1").body()).size());
        HttpResponse<String> bad = get("/api/flows?colour=red");
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("unknown flow filter \\\"colour\\\""), bad.body());
        HttpResponse<String> badVerdict = get("/api/flows?verdict=MAYBE");
        assertEquals(400, badVerdict.statusCode());
        assertTrue(badVerdict.body().contains("unknown verdict"), badVerdict.body());
    }

    @Test
    void policiesShowHitsOrADashWhenUnknown() throws Exception {
        JsonNode none = mapper.readTree(get("/api/policies").body());
        assertEquals("default/rule1 ingress[0]", none.get(0).path("rules").get(0).path("rule").asText(), none.toString());
        assertTrue(none.get(0).path("rules").get(0).path("hits").isNull(), "no hit source: null, shown as -");
        backend.hits = Map.of(repo.rule1(), 42L);
        JsonNode some = mapper.readTree(get("/api/policies").body());
        assertEquals(42, some.get(0).path("rules").get(0).path("hits").asLong(), some.toString());
    }

    @Test
    void whyNamesTheDecidingRuleTheDefaultDenyOrThatNoRuleSelectsTheEndpoint() throws Exception {
        JsonNode allowed = why(observer.flows.get(0));
        assertEquals("rule", allowed.path("decidedBy").asText());
        assertTrue(allowed.path("ruleExists").asBoolean());
        assertTrue(allowed.path("summary").asText().startsWith("Forwarded by default/rule1 ingress[0]"), allowed.toString());

        JsonNode dropped = why(observer.flows.get(1));
        assertEquals("default", dropped.path("decidedBy").asText());
        assertTrue(dropped.path("summary").asText().contains("policy selects default/deathstar for ingress but no rule allows"),
                dropped.toString());
        assertFalse(dropped.path("trace").path("allowed").asBoolean(), dropped.toString());
        assertTrue(dropped.path("trace").path("explanation").toString().contains("default/rule1 selects the destination"), dropped.toString());

        JsonNode egress = why(observer.flows.get(2));
        assertTrue(egress.path("summary").asText().contains("no rule selects this endpoint (default/xwing) for egress"), egress.toString());
        assertEquals("default/xwing", egress.path("subject").asText());

        // a reply names no decision: the trace with the current policy answers
        Flow reply = new Flow(null, 4, Flow.FORWARDED, 0, null, new FlowIp("10.199.16.1", "10.199.16.3", "IPv4"),
                new FlowL4("TCP", 80, 40000, List.of("ACK")), observer.flows.get(0).destination(), observer.flows.get(0).source(),
                "L3_L4", Flow.TYPE_TRACE, "EGRESS", Flow.FROM_ENDPOINT, Flow.MATCH_NONE, 1, 0, null, null, true, null);
        JsonNode r = why(reply);
        assertEquals("trace", r.path("decidedBy").asText(), r.toString());
        assertTrue(r.path("summary").asText().contains("reply"), r.toString());

        HttpResponse<String> empty = http.send(HttpRequest.newBuilder(URI.create(base + "/api/why"))
                .POST(HttpRequest.BodyPublishers.ofString("{not json")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, empty.statusCode());
        assertTrue(empty.body().contains("the body is not a flow"), empty.body());
        assertEquals(405, get("/api/why").statusCode());
    }

    @Test
    void theStreamSendsTheBacklogThenNewMatchingFlows() throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.boundAddress().getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET /api/stream?verdict=DROPPED HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            List<JsonNode> data = new ArrayList<>();
            boolean backlogDone = false;
            boolean published = false;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            String line;
            while (data.size() < 2 && System.nanoTime() < deadline && (line = in.readLine()) != null) {
                if (line.startsWith("data: {\"time")) data.add(mapper.readTree(line.substring(6)));
                if (line.startsWith("event: backlog-done")) backlogDone = true;
                if (backlogDone && !published) {
                    published = true;
                    assertEquals(1, data.size(), "the backlog: the one drop");
                    observer.publish(flow(5, Flow.FORWARDED, "tiefighter", "INGRESS", repo.rule1(), "default/rule1 ingress[0]"));
                    observer.publish(flow(6, Flow.DROPPED, "xwing", "INGRESS", 0, "default deny: no rule allows"));
                }
            }
            assertEquals(2, data.size(), data.toString());
            assertEquals(2, data.get(0).path("time_nanos").asLong());
            assertEquals(6, data.get(1).path("time_nanos").asLong(), "the new drop, not the forwarded flow");
        }
    }

    @Test
    void aSecondStreamBeyondTheLimitIs503() throws Exception {
        List<Socket> open = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                Socket s = new Socket(InetAddress.getLoopbackAddress(), server.boundAddress().getPort());
                open.add(s);
                s.getOutputStream().write("GET /api/stream HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                s.setSoTimeout(10_000);
                new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
            }
            HttpResponse<String> third = get("/api/stream");
            assertEquals(503, third.statusCode(), third.body());
            assertTrue(third.body().contains("too many live streams"), third.body());
        } finally {
            for (Socket s : open) s.close();
        }
    }

    @Test
    void onlyLoopbackAddressesAreAccepted() {
        assertTrue(LoopbackAddress.parse("127.0.0.1").isLoopbackAddress());
        assertTrue(LoopbackAddress.parse("127.3.2.1").isLoopbackAddress());
        assertTrue(LoopbackAddress.parse("::1").isLoopbackAddress());
        assertTrue(LoopbackAddress.parse("[::1]").isLoopbackAddress());
        assertTrue(LoopbackAddress.parse("localhost").isLoopbackAddress());
        for (String bad : List.of("0.0.0.0", "10.1.2.3", "::", "fd00::2")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoopbackAddress.parse(bad));
            assertTrue(e.getMessage().contains("is not a loopback address"), e.getMessage());
        }
        IllegalArgumentException name = assertThrows(IllegalArgumentException.class, () -> LoopbackAddress.parse("ui.example.com"));
        assertTrue(name.getMessage().contains("is not an IP address"), name.getMessage());
    }

    @Test
    void theComponentRefusesANonLoopbackAddressAndSaysSoInStatus() {
        WebUiComponent c = new WebUiComponent(config(true, 0, "0.0.0.0"));
        try {
            assertEquals("failed", c.health().state());
            assertTrue(c.health().message().contains("io.septum.webui: address 0.0.0.0 is not a loopback address"), c.health().message());
        } finally {
            c.deactivate();
        }
        WebUiComponent off = new WebUiComponent(config(false, 0, "127.0.0.1"));
        assertEquals("ok", off.health().state());
        assertTrue(off.health().message().startsWith("disabled"), off.health().message());
        off.deactivate();
    }

    @Test
    void theComponentListensOnTheConfiguredLoopbackPort() throws Exception {
        WebUiComponent c = new WebUiComponent(config(true, 0, "127.0.0.1"));
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!c.health().message().startsWith("listening") && System.nanoTime() < deadline) Thread.sleep(20);
            String m = c.health().message();
            assertTrue(m.startsWith("listening on http://127.0.0.1:"), m);
            String url = m.substring("listening on ".length(), m.indexOf('/', "listening on http://".length()) + 1);
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "api/endpoints")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, r.statusCode(), "no endpoint manager bound: " + r.body());
            assertTrue(r.body().contains("the endpoint manager is not running"), r.body());
        } finally {
            c.deactivate();
        }
    }

    /** The configuration as DS hands it over, with at most 2 live streams. */
    private static WebUiComponent.Config config(boolean enabled, int port, String address) {
        Map<String, Object> v = Map.of("enabled", enabled, "port", port, "address", address, "maxStreams", 2);
        return (WebUiComponent.Config) Proxy.newProxyInstance(WebUiComponent.Config.class.getClassLoader(),
                new Class<?>[] {WebUiComponent.Config.class}, (p, m, a) -> v.get(m.getName()));
    }

    /** The repository over one parsed set; {@link #rule1()} is its one rule's id. Changes are refused. */
    static class Repo implements StubPolicyRepository {
        private final PolicySet set;

        Repo(PolicySet set) {
            this.set = set;
        }

        int rule1() {
            return set.policies().get(0).rules().get(0).id();
        }

        @Override
        public List<PolicyInfo> list() {
            return set.policies();
        }

        @Override
        public Optional<PolicyInfo> get(String namespace, String name) {
            return set.policies().stream().filter(p -> p.name().equals(name)).findFirst();
        }

        @Override
        public long revision() {
            return 1;
        }

        @Override
        public PolicySet current() {
            return set;
        }
    }

    static final class Endpoints implements EndpointManager {
        @Override
        public List<Endpoint> list() {
            return List.of(new Endpoint(1, "deathstar", "default", "netns", List.of("netns:class=deathstar"), 256,
                    EndpointState.READY, List.of("10.199.16.1"), "st1", 7, "/run/netns/x", true, false, Map.of(), 1, null));
        }

        @Override
        public Optional<Endpoint> get(String idOrName) {
            return list().stream().filter(e -> e.name().equals(idOrName)).findFirst();
        }

        @Override
        public void add(String source, EndpointSpec spec) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void delete(String idOrName) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<SourceHealth> sources() {
            return List.of();
        }

        @Override
        public void setNamespaceLabels(String namespace, Map<String, String> labels) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Map<String, Map<String, String>> namespaceLabels() {
            return Map.of();
        }

        @Override
        public Endpoint setAudit(String idOrName, boolean audit) {
            throw new java.util.NoSuchElementException(idOrName);
        }

        public List<IpcacheEntry> ipcache() {
            return List.of();
        }
    }

    @Test
    void theClusterToggleAsksTheRelayAndTheStreamCarriesNodesAndNodeReports() throws Exception {
        HttpResponse<String> none = get("/api/stream?cluster=true");
        assertEquals(503, none.statusCode(), none.body());
        assertTrue(none.body().contains("the flow relay (septum-api-server's peer flow component) is not running"), none.body());
        List<Map<String, List<String>>> asked = new CopyOnWriteArrayList<>();
        List<Boolean> followed = new CopyOnWriteArrayList<>();
        backend.set(FlowRelay.class, (query, follow, sink) -> {
            asked.add(query);
            followed.add(follow);
            sink.flow(flow(7, Flow.DROPPED, "xwing", "INGRESS", 0, "default deny: no rule allows").withNodeName("node-b"));
            sink.status(new io.septum.api.flow.FlowNodeStatus("node-c", "unreachable", "cannot connect to 192.0.2.13:4244",
                    "2026-12-06T02:00:00Z"));
            sink.flow(flow(8, Flow.FORWARDED, "tiefighter", "INGRESS", repo.rule1(), "default/rule1 ingress[0]").withNodeName("node-a"));
            // a followed stream lasts until the page leaves: heartbeats notice it
            java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
            try {
                while (follow && sink.open() && !never.await(50, TimeUnit.MILLISECONDS)) sink.idle();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });

        HttpResponse<String> list = get("/api/flows?cluster=true&verdict=DROPPED");
        assertEquals(200, list.statusCode(), list.body());
        JsonNode flows = mapper.readTree(list.body());
        assertEquals(List.of("node-b", "node-a"), List.of(flows.get(0).path("node_name").asText(), flows.get(1).path("node_name").asText()));
        assertEquals(Map.of("verdict", List.of("DROPPED"), "last", List.of("500")), asked.get(0), "cluster is the UI's, not a filter");
        assertEquals(false, followed.get(0));
        HttpResponse<String> bad = get("/api/flows?cluster=maybe");
        assertEquals(400, bad.statusCode(), bad.body());
        assertTrue(bad.body().contains("cluster=maybe is not true or false"), bad.body());

        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.boundAddress().getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /api/stream?cluster=true&last=5 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            List<String> events = new ArrayList<>();
            String line;
            while (events.size() < 3 && (line = in.readLine()) != null) {
                if (line.startsWith("event: ")) events.add(line);
                if (line.startsWith("data: ")) {
                    JsonNode d = mapper.readTree(line.substring(6));
                    events.add(d.has("time_nanos") ? "flow " + d.path("node_name").asText()
                            : "status " + d.path("node_name").asText() + " " + d.path("state").asText());
                }
            }
            assertEquals(List.of("flow node-b", "event: node-status", "status node-c unreachable"), events);
            assertEquals(Map.of("last", List.of("5")), asked.get(1));
            assertEquals(true, followed.get(1));
        }
    }
}
