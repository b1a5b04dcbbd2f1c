package io.septum.webui.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.EndpointManager;
import io.septum.api.flow.FlowObserver;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyHistory;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicyRevision;
import io.septum.apiserver.testing.FakeFlowObserver;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The workbench over real HTTP: reading and computing need no session; every change needs the cookie a one-time
 * login link set, the session's CSRF token and a same-origin request, and is recorded with the session's author.
 * A refused change reaches no service.
 */
class PolicyWorkbenchTest {
    private static final String DRAFT = WebUiServerTest.RULE1;

    private final ObjectMapper mapper = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** Every change a service was asked for: "import AUTHOR TEXT", "mode ...", "rollback ...". */
    private final List<String> changes = new CopyOnWriteArrayList<>();
    private WebUiServer server;
    private UiApi api;
    private String base;

    @BeforeEach
    void start() throws Exception {
        PolicyEngine engine = ServiceLoader.load(PolicyEngine.class).findFirst().orElseThrow();
        WebUiServerTest.Repo repo = new WebUiServerTest.Repo(engine.parse("rule1.yaml", DRAFT)) {
            @Override
            public ImportResult importPolicies(String origin, String text, String author) {
                changes.add("import " + author + " " + origin + "\n" + text);
                return new ImportResult(2, List.of("default/rule1"));
            }
        };
        PolicyHistory history = new PolicyHistory() {
            @Override
            public List<PolicyRevision> history(String namespace, String name, int limit) {
                return List.of(new PolicyRevision(1, "2026-12-06T10:00:00Z", "uid 0 (root)", "import", "added",
                        "CiliumNetworkPolicy", "default/rule1", "rule1.yaml", null, List.of("+kind: CiliumNetworkPolicy")));
            }

            @Override
            public long rollback(String namespace, String name, long revision, String author) {
                changes.add("rollback " + namespace + "/" + name + " " + revision + " " + author);
                return 3;
            }

            @Override
            public long setMode(String namespace, String name, String mode, String author) {
                changes.add("mode " + namespace + "/" + name + " " + mode + " " + author);
                return 4;
            }
        };
        FakeFlowObserver observer = new FakeFlowObserver();
        UiBackend backend = new UiBackend() {
            @Override
            public EndpointManager endpointManager() {
                return new WebUiServerTest.Endpoints();
            }

            @Override
            public PolicyRepository policyRepository() {
                return repo;
            }

            @Override
            public FlowObserver flowObserver() {
                return observer;
            }

            @Override
            public Map<Integer, Long> ruleHits() {
                return Map.of();
            }

            @Override
            public PolicyEngine policyEngine() {
                return engine;
            }

            @Override
            public PolicyHistory policyHistory() {
                return history;
            }
        };
        api = new UiApi(backend);
        server = new WebUiServer(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), api, 2);
        server.start();
        base = "http://127.0.0.1:" + server.boundAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void aLoginLinkWorksOnceAndSetsAStrictHttpOnlyCookie() throws Exception {
        String token = api.sessions().issue("uid 0 (root)").getKey();
        HttpResponse<String> first = send(HttpRequest.newBuilder(URI.create(base + "/login?token=" + token)).GET());
        assertEquals(303, first.statusCode(), first.body());
        assertEquals("/", first.headers().firstValue("Location").orElse(""));
        String cookie = first.headers().firstValue("Set-Cookie").orElse("");
        assertTrue(cookie.startsWith(UiCall.COOKIE + "=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), cookie);

        HttpResponse<String> again = send(HttpRequest.newBuilder(URI.create(base + "/login?token=" + token)).GET());
        assertEquals(403, again.statusCode(), "a link works once");
        assertTrue(again.body().contains("septum ui login"), again.body());
        assertEquals(403, send(HttpRequest.newBuilder(URI.create(base + "/login?token=forged")).GET()).statusCode());

        JsonNode session = json(send(withCookie("/api/session", cookie(first)).GET()));
        assertEquals("uid 0 (root)", session.path("user").asText());
        assertFalse(session.path("csrf").asText().isEmpty());
        assertEquals(401, send(HttpRequest.newBuilder(URI.create(base + "/api/session")).GET()).statusCode(),
                "no cookie, no session");
    }

    @Test
    void changesNeedTheSessionItsCsrfTokenAndTheUisOwnOrigin() throws Exception {
        String cookie = signIn();
        String csrf = json(send(withCookie("/api/session", cookie).GET())).path("csrf").asText();
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.ofString(DRAFT);

        HttpResponse<String> anonymous = send(HttpRequest.newBuilder(URI.create(base + "/api/policy/apply?mode=enforce"))
                .header("X-CSRF-Token", csrf).POST(body));
        assertEquals(401, anonymous.statusCode(), anonymous.body());
        assertTrue(anonymous.body().contains("septum ui login"), anonymous.body());
        HttpResponse<String> noToken = send(withCookie("/api/policy/apply?mode=enforce", cookie).POST(body));
        assertEquals(403, noToken.statusCode(), noToken.body());
        HttpResponse<String> wrongToken = send(withCookie("/api/policy/apply?mode=enforce", cookie)
                .header("X-CSRF-Token", csrf + "x").POST(body));
        assertEquals(403, wrongToken.statusCode(), wrongToken.body());
        HttpResponse<String> crossSite = send(withCookie("/api/policy/apply?mode=enforce", cookie)
                .header("X-CSRF-Token", csrf).header("Origin", "http://evil.example").POST(body));
        assertEquals(403, crossSite.statusCode(), crossSite.body());
        assertTrue(crossSite.body().contains("cross-site"), crossSite.body());
        HttpResponse<String> fetchSite = send(withCookie("/api/policy/rollback", cookie).header("X-CSRF-Token", csrf)
                .header("Sec-Fetch-Site", "cross-site")
                .POST(HttpRequest.BodyPublishers.ofString("{\"namespace\":\"default\",\"name\":\"rule1\",\"revision\":1}")));
        assertEquals(403, fetchSite.statusCode(), fetchSite.body());
        assertEquals(List.of(), changes, "a refused change reaches no service");

        HttpResponse<String> ok = send(withCookie("/api/policy/apply?mode=enforce", cookie).header("X-CSRF-Token", csrf)
                .header("Origin", base).header("Sec-Fetch-Site", "same-origin").POST(body));
        assertEquals(200, ok.statusCode(), ok.body());
        assertEquals(1, changes.size());
        assertTrue(changes.get(0).startsWith("import web UI (uid 0 (root)) " + PolicyWorkbench.ORIGIN), changes.get(0));
        assertFalse(changes.get(0).contains("policy.septum.io/mode"), "enforce keeps the draft as written\n" + changes.get(0));

        send(withCookie("/api/session/logout", cookie).header("X-CSRF-Token", csrf).POST(HttpRequest.BodyPublishers.noBody()));
        assertEquals(401, send(withCookie("/api/policy/apply?mode=enforce", cookie).header("X-CSRF-Token", csrf).POST(body))
                .statusCode(), "signed out");
        assertEquals(1, changes.size());
    }

    @Test
    void stagingAnnotatesEveryPolicyOfTheDraftInOneImport() throws Exception {
        String cookie = signIn();
        String csrf = json(send(withCookie("/api/session", cookie).GET())).path("csrf").asText();
        String two = DRAFT + "---\n" + DRAFT.replace("name: \"rule1\"", "name: \"rule2\"\n  annotations: {team: x}");
        HttpResponse<String> r = send(withCookie("/api/policy/apply?mode=audit", cookie).header("X-CSRF-Token", csrf)
                .POST(HttpRequest.BodyPublishers.ofString(two)));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(1, changes.size(), "one change, so the draft never enforces in between");
        String imported = changes.get(0);
        assertEquals(2, imported.split("policy.septum.io/mode: audit", -1).length - 1, imported);
        assertTrue(imported.contains("team: x"), "other annotations stay\n" + imported);

        assertEquals(200, send(withCookie("/api/policy/mode", cookie).header("X-CSRF-Token", csrf).POST(
                HttpRequest.BodyPublishers.ofString("{\"namespace\":\"default\",\"name\":\"rule1\",\"mode\":\"enforce\"}"))).statusCode());
        assertEquals(200, send(withCookie("/api/policy/rollback", cookie).header("X-CSRF-Token", csrf).POST(
                HttpRequest.BodyPublishers.ofString("{\"namespace\":\"default\",\"name\":\"rule1\",\"revision\":1}"))).statusCode());
        assertEquals(List.of("mode default/rule1 enforce web UI (uid 0 (root))", "rollback default/rule1 1 web UI (uid 0 (root))"),
                changes.subList(1, 3));
        HttpResponse<String> bad = send(withCookie("/api/policy/rollback", cookie).header("X-CSRF-Token", csrf).POST(
                HttpRequest.BodyPublishers.ofString("{\"name\":\"rule1\",\"revision\":\"yesterday\"}")));
        assertEquals(400, bad.statusCode(), bad.body());
    }

    @Test
    void validationAsYouTypeNamesDocumentAndFieldAndNeedsNoSession() throws Exception {
        JsonNode ok = json(send(HttpRequest.newBuilder(URI.create(base + "/api/policy/validate"))
                .POST(HttpRequest.BodyPublishers.ofString(DRAFT))));
        assertTrue(ok.path("valid").asBoolean(), ok.toString());
        assertEquals("default/rule1", ok.path("policies").path(0).asText(), ok.toString());

        JsonNode bad = json(send(HttpRequest.newBuilder(URI.create(base + "/api/policy/validate"))
                .POST(HttpRequest.BodyPublishers.ofString(DRAFT.replace("port: \"80\"", "port: \"99999\"")))));
        assertFalse(bad.path("valid").asBoolean(), bad.toString());
        String error = bad.path("errors").path(0).asText();
        assertTrue(error.startsWith(PolicyWorkbench.ORIGIN + ": document 1") && error.contains("spec.ingress[0].toPorts[0].ports[0].port"),
                error);
        JsonNode empty = json(send(HttpRequest.newBuilder(URI.create(base + "/api/policy/validate"))
                .POST(HttpRequest.BodyPublishers.ofString("  \n"))));
        assertFalse(empty.path("valid").asBoolean(), empty.toString());

        JsonNode history = json(send(HttpRequest.newBuilder(URI.create(base + "/api/policy/history?namespace=default&name=rule1")).GET()));
        assertEquals("default/rule1", history.path(0).path("policy").asText(), history.toString());
        assertEquals(List.of(), changes);
    }

    private String signIn() throws Exception {
        String token = api.sessions().issue("uid 0 (root)").getKey();
        return cookie(send(HttpRequest.newBuilder(URI.create(base + "/login?token=" + token)).GET()));
    }

    private static String cookie(HttpResponse<String> login) {
        return login.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
    }

    private HttpRequest.Builder withCookie(String path, String cookie) {
        return HttpRequest.newBuilder(URI.create(base + path)).header("Cookie", cookie);
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode json(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        return mapper.readTree(r.body());
    }
}
