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
import io.septum.testsupport.RecordingPolicyHistory;
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
    /** Every import the repository was asked for: "import AUTHOR ORIGIN", a line break, the text. */
    private final List<String> changes = new CopyOnWriteArrayList<>();
    /** The policy history; its calls are the mode changes and rollbacks asked for (and the reads). */
    private RecordingPolicyHistory history;
    private WebUiServer server;
    private PolicyEngine engine;
    private FakeBackend backend;
    private UiApi api;
    private String base;

    @BeforeEach
    void start() throws Exception {
        engine = ServiceLoader.load(PolicyEngine.class).findFirst().orElseThrow();
        WebUiServerTest.Repo repo = new WebUiServerTest.Repo(engine.parse("rule1.yaml", DRAFT)) {
            @Override
            public ImportResult importPolicies(String origin, String text, String author) {
                changes.add("import " + author + " " + origin + "\n" + text);
                return new ImportResult(2, List.of("default/rule1"));
            }
        };
        history = new RecordingPolicyHistory(3, 4, new PolicyRevision(1, "2026-12-06T10:00:00Z", "uid 0 (root)", "import",
                "added", "CiliumNetworkPolicy", "default/rule1", "rule1.yaml", null, List.of("+kind: CiliumNetworkPolicy")));
        FakeFlowObserver observer = new FakeFlowObserver();
        backend = new FakeBackend();
        backend.set(PolicyRepository.class, repo);
        backend.set(FlowObserver.class, observer);
        backend.set(PolicyEngine.class, engine);
        backend.set(PolicyHistory.class, history);
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
    void aLoginTokenWorksOnceAndGivesAStrictHttpOnlyCookieAndTheCsrfTokenOnlyThen() throws Exception {
        String token = api.sessions().issue("uid 0 (root)").getKey();
        HttpResponse<String> first = login(token);
        assertEquals(200, first.statusCode(), first.body());
        String cookie = first.headers().firstValue("Set-Cookie").orElse("");
        assertTrue(cookie.startsWith(UiCall.COOKIE + "=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), cookie);
        JsonNode body = mapper.readTree(first.body());
        assertEquals("uid 0 (root)", body.path("user").asText());
        assertTrue(body.path("csrf").asText().length() >= 43, body.toString());

        HttpResponse<String> again = login(token);
        assertEquals(403, again.statusCode(), "a link works once");
        assertTrue(again.body().contains("septum ui login"), again.body());
        assertEquals(403, login("forged").statusCode());
        assertEquals(404, send(HttpRequest.newBuilder(URI.create(base + "/login?token=" + token)).GET()).statusCode(),
                "the token never travels in a URL the server answers");

        JsonNode session = json(send(withCookie("/api/session", cookie.split(";")[0]).GET()));
        assertEquals("uid 0 (root)", session.path("user").asText());
        assertTrue(session.path("csrf").isMissingNode(), "the cookie alone never gets the CSRF token: " + session);
        assertEquals(401, send(HttpRequest.newBuilder(URI.create(base + "/api/session")).GET()).statusCode(),
                "no cookie, no session");
        HttpResponse<String> tossed = send(withCookie("/api/session", UiCall.COOKIE + "=junk; " + cookie.split(";")[0]).GET());
        assertEquals(200, tossed.statusCode(), "a cookie another port set does not hide the real one");
        UiException bad = org.junit.jupiter.api.Assertions.assertThrows(UiException.class, () -> WebUiServer.query("a=%zz"));
        assertEquals(400, bad.status(), "a bad escape is a 400, not a dropped connection");
    }

    /** Every route that changes something, with a body it would accept. */
    private static final List<String[]> WRITES = List.of(
            new String[] {"/api/policy/apply?mode=enforce", DRAFT},
            new String[] {"/api/policy/apply?mode=audit", DRAFT},
            new String[] {"/api/policy/mode", "{\"namespace\":\"default\",\"name\":\"rule1\",\"mode\":\"audit\"}"},
            new String[] {"/api/policy/rollback", "{\"namespace\":\"default\",\"name\":\"rule1\",\"revision\":1}"},
            new String[] {"/api/probe", "{\"from\":\"deathstar\",\"to\":\"10.199.16.1\",\"port\":80}"},
            new String[] {"/api/session/logout", ""});

    @Test
    void everyChangeIsRefusedWithoutTheSessionItsCsrfTokenOrFromAnotherPage() throws Exception {
        String[] s = signIn();
        String cookie = s[0];
        String csrf = s[1];
        for (String[] w : WRITES) {
            HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.ofString(w[1]);
            assertRefused(401, w[0], HttpRequest.newBuilder(URI.create(base + w[0])).header("X-CSRF-Token", csrf).POST(body));
            assertRefused(403, w[0], withCookie(w[0], cookie).POST(body));
            assertRefused(403, w[0], withCookie(w[0], cookie).header("X-CSRF-Token", csrf + "x").POST(body));
            for (String origin : new String[] {"null", "http://evil.example", "http://127.0.0.1:1"}) {
                assertRefused(403, w[0] + " from " + origin, withCookie(w[0], cookie).header("X-CSRF-Token", csrf)
                        .header("Origin", origin).POST(body));
            }
            for (String site : new String[] {"cross-site", "same-site", "none"}) {
                assertRefused(403, w[0] + " " + site, withCookie(w[0], cookie).header("X-CSRF-Token", csrf)
                        .header("Sec-Fetch-Site", site).POST(body));
            }
        }
        assertEquals(List.of(), changes, "a refused change reaches no service");
        assertEquals(List.of(), history.calls, "a refused change reaches no service");
        HttpResponse<String> compute = send(HttpRequest.newBuilder(URI.create(base + "/api/policy/validate"))
                .header("Origin", "http://evil.example").POST(HttpRequest.BodyPublishers.ofString(DRAFT)));
        assertEquals(403, compute.statusCode(), "another page cannot make the agent compute either");
    }

    private void assertRefused(int status, String what, HttpRequest.Builder b) throws Exception {
        HttpResponse<String> r = send(b);
        assertEquals(status, r.statusCode(), what + ": " + r.body());
    }

    @Test
    void changesNeedTheSessionItsCsrfTokenAndTheUisOwnOrigin() throws Exception {
        String[] signedIn = signIn();
        String cookie = signedIn[0];
        String csrf = signedIn[1];
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
        assertEquals(List.of(), history.calls, "a refused change reaches no service");

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
        String[] signedIn = signIn();
        String cookie = signedIn[0];
        String csrf = signedIn[1];
        // a plain document with other annotations, a label value that looks like a number, and a List of one more
        String two = DRAFT.replace("class: deathstar}", "class: deathstar, version: \"1.10\"}") + "---\n"
                + DRAFT.replace("name: \"rule1\"", "name: \"rule2\"\n  annotations: {team: x}") + "---\n"
                + "apiVersion: v1\nkind: List\nitems:\n" + DRAFT.replace("name: \"rule1\"", "name: \"rule3\"").indent(2)
                        .replaceFirst("  apiVersion", "- apiVersion");
        HttpResponse<String> r = send(withCookie("/api/policy/apply?mode=audit", cookie).header("X-CSRF-Token", csrf)
                .POST(HttpRequest.BodyPublishers.ofString(two)));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("audit", mapper.readTree(r.body()).path("mode").asText());
        assertEquals(1, changes.size(), "one change, so the draft never enforces in between");
        String imported = changes.get(0).substring(changes.get(0).indexOf('\n') + 1);
        io.septum.api.policy.PolicySet set = engine.parse("imported", imported);
        assertEquals(List.of("default/rule1", "default/rule2", "default/rule3"),
                set.policies().stream().map(p -> p.qualifiedName()).sorted().toList(), imported);
        for (io.septum.api.policy.PolicyInfo p : set.policies()) {
            assertEquals("audit", PolicyView.mode(p), p.qualifiedName() + " staged\n" + imported);
        }
        assertTrue(imported.contains("\"1.10\""), "a label value stays a string\n" + imported);
        assertTrue(imported.contains("team"), "other annotations stay\n" + imported);

        // YAML's special words stay strings too
        HttpResponse<String> inf = send(withCookie("/api/policy/apply?mode=audit", cookie).header("X-CSRF-Token", csrf)
                .POST(HttpRequest.BodyPublishers.ofString(DRAFT.replace("class: deathstar}", "class: deathstar, v: \".inf\"}"))));
        assertEquals(200, inf.statusCode(), inf.body());
        assertTrue(changes.remove(1).contains("\".inf\""), "quoted as typed");

        assertEquals(200, send(withCookie("/api/policy/mode", cookie).header("X-CSRF-Token", csrf).POST(
                HttpRequest.BodyPublishers.ofString("{\"namespace\":\"default\",\"name\":\"rule1\",\"mode\":\"enforce\"}"))).statusCode());
        assertEquals(200, send(withCookie("/api/policy/rollback", cookie).header("X-CSRF-Token", csrf).POST(
                HttpRequest.BodyPublishers.ofString("{\"namespace\":\"default\",\"name\":\"rule1\",\"revision\":1}"))).statusCode());
        assertEquals(List.of("mode default|rule1|enforce|web UI (uid 0 (root))", "rollback default|rule1|1|web UI (uid 0 (root))"),
                history.calls);
        HttpResponse<String> bad = send(withCookie("/api/policy/rollback", cookie).header("X-CSRF-Token", csrf).POST(
                HttpRequest.BodyPublishers.ofString("{\"name\":\"rule1\",\"revision\":\"yesterday\"}")));
        assertEquals(400, bad.statusCode(), bad.body());
    }

    @Test
    void inClusterModeADraftGoesToTheClusterStoreStagedOrEnforcing() throws Exception {
        String[] signedIn = signIn();
        String cookie = signedIn[0];
        String csrf = signedIn[1];
        // standalone: no cluster store, nothing changes
        HttpResponse<String> standalone = send(withCookie("/api/policy/apply?mode=enforce&scope=cluster", cookie)
                .header("X-CSRF-Token", csrf).POST(HttpRequest.BodyPublishers.ofString(DRAFT)));
        assertEquals(503, standalone.statusCode(), standalone.body());
        assertTrue(standalone.body().contains("cluster mode is off"), standalone.body());
        assertEquals(503, send(withCookie("/api/policy/cluster", cookie).GET()).statusCode());
        assertEquals(List.of(), changes);

        List<String> stored = new CopyOnWriteArrayList<>();
        List<String> authors = new CopyOnWriteArrayList<>();
        backend.set(io.septum.api.policy.ClusterPolicies.class, new io.septum.api.policy.ClusterPolicies() {
            public List<io.septum.api.policy.ClusterPolicy> importPolicies(String text, String author) {
                stored.add("import\n" + text);
                authors.add(author);
                return List.of(new io.septum.api.policy.ClusterPolicy("default", "rule1", "CiliumNetworkPolicy", 7, Map.of()));
            }

            public boolean delete(String namespace, String name) {
                stored.add("delete " + namespace + "/" + name);
                return name.equals("rule1");
            }

            public List<io.septum.api.policy.ClusterPolicy> list() {
                return List.of(new io.septum.api.policy.ClusterPolicy("default", "rule1", "CiliumNetworkPolicy", 7,
                        Map.of("node-1", 7L)));
            }
        });
        assertEquals("rule1", json(send(withCookie("/api/policy/cluster", cookie).GET())).path(0).path("name").asText());
        HttpResponse<String> staged = send(withCookie("/api/policy/apply?mode=audit&scope=cluster", cookie)
                .header("X-CSRF-Token", csrf).POST(HttpRequest.BodyPublishers.ofString(DRAFT)));
        assertEquals(200, staged.statusCode(), staged.body());
        assertEquals("cluster", mapper.readTree(staged.body()).path("scope").asText());
        assertEquals(List.of(), changes, "nothing went to this node's own policies");
        assertEquals(1, stored.size());
        io.septum.api.policy.PolicySet set = engine.parse("stored", stored.get(0).substring("import\n".length()));
        assertEquals("audit", PolicyView.mode(set.policies().get(0)), "staged in the cluster: " + stored.get(0));
        assertTrue(authors.get(0).startsWith("web UI ("), "the session's author goes to the store: " + authors);

        assertEquals(400, send(withCookie("/api/policy/apply?mode=enforce&scope=galaxy", cookie).header("X-CSRF-Token", csrf)
                .POST(HttpRequest.BodyPublishers.ofString(DRAFT))).statusCode());
        HttpResponse<String> noSession = send(HttpRequest.newBuilder(URI.create(base + "/api/policy/cluster/delete"))
                .header("X-CSRF-Token", csrf).POST(HttpRequest.BodyPublishers.ofString("{\"namespace\":\"default\",\"name\":\"rule1\"}")));
        assertEquals(401, noSession.statusCode(), "a delete needs the session");
        assertEquals(200, send(withCookie("/api/policy/cluster/delete", cookie).header("X-CSRF-Token", csrf).POST(
                HttpRequest.BodyPublishers.ofString("{\"namespace\":\"default\",\"name\":\"rule1\"}"))).statusCode());
        assertEquals(404, send(withCookie("/api/policy/cluster/delete", cookie).header("X-CSRF-Token", csrf).POST(
                HttpRequest.BodyPublishers.ofString("{\"namespace\":\"default\",\"name\":\"nope\"}"))).statusCode());
        assertEquals(List.of("delete default/rule1", "delete default/nope"), stored.subList(1, 3));
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

    /** Signs in as root: the cookie ({@code name=value}) and the CSRF token. */
    private String[] signIn() throws Exception {
        HttpResponse<String> r = login(api.sessions().issue("uid 0 (root)").getKey());
        assertEquals(200, r.statusCode(), r.body());
        return new String[] {r.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0],
                mapper.readTree(r.body()).path("csrf").asText()};
    }

    private HttpResponse<String> login(String token) throws Exception {
        return send(HttpRequest.newBuilder(URI.create(base + "/api/session/login"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"token\":\"" + token + "\"}")));
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

    @Test
    void aProbeSendsPacketsFromAnEndpointSoItNeedsASession() throws Exception {
        String probe = "{\"from\":\"deathstar\",\"to\":\"10.199.16.1\",\"port\":80}";
        HttpResponse<String> anonymous = send(HttpRequest.newBuilder(URI.create(base + "/api/probe"))
                .POST(HttpRequest.BodyPublishers.ofString(probe)));
        assertEquals(401, anonymous.statusCode(), anonymous.body());
        String[] signedIn = signIn();
        String cookie = signedIn[0];
        String csrf = signedIn[1];
        HttpResponse<String> unknown = send(withCookie("/api/probe", cookie).header("X-CSRF-Token", csrf)
                .POST(HttpRequest.BodyPublishers.ofString(probe.replace("deathstar", "nosuch"))));
        assertEquals(404, unknown.statusCode(), unknown.body());
        HttpResponse<String> octal = send(withCookie("/api/probe", cookie).header("X-CSRF-Token", csrf)
                .POST(HttpRequest.BodyPublishers.ofString(probe.replace("10.199.16.1", "010.199.16.1"))));
        assertEquals(400, octal.statusCode(), "bash would read 010 as octal: " + octal.body());
        HttpResponse<String> byId = send(withCookie("/api/probe", cookie).header("X-CSRF-Token", csrf)
                .POST(HttpRequest.BodyPublishers.ofString(probe.replace("10.199.16.1", "7"))));
        assertEquals(404, byId.statusCode(), "a number without dots is an endpoint id, not an address: " + byId.body());
        HttpResponse<String> port = send(withCookie("/api/probe", cookie).header("X-CSRF-Token", csrf)
                .POST(HttpRequest.BodyPublishers.ofString(probe.replace("80", "70000"))));
        assertEquals(400, port.statusCode(), port.body());
        // the fake endpoint's namespace does not exist: the attempt is made and fails as an error, not a pass
        JsonNode r = json(send(withCookie("/api/probe", cookie).header("X-CSRF-Token", csrf)
                .POST(HttpRequest.BodyPublishers.ofString(probe))));
        assertEquals("default/deathstar", r.path("from").asText(), r.toString());
        assertEquals("error", r.path("result").asText(), r.toString());
        assertFalse(r.path("passed").asBoolean(), r.toString());
    }
}
