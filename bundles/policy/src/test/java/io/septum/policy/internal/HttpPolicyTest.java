package io.septum.policy.internal;

import static io.septum.policy.internal.ResolveMatchesDecideTest.labels;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Labels;
import io.septum.api.policy.Decision;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.HttpPolicy;
import io.septum.api.policy.HttpRequestInfo;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.TraceResult;
import io.septum.api.policy.ValidationError;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The HTTP rule semantics the L7 proxy applies through {@link PolicySet#httpPolicy}, and their validation. */
class HttpPolicyTest {
    private final PolicyEngine engine = new PolicyEngineImpl();
    private static final Labels SERVER = labels("k8s:app=server", "k8s:io.kubernetes.pod.namespace=default");
    private static final Labels CLIENT = labels("k8s:app=client", "k8s:io.kubernetes.pod.namespace=default");
    private static final Labels OTHER = labels("k8s:app=other", "k8s:io.kubernetes.pod.namespace=default");

    private static String cnp(String spec) {
        return "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: rule1}\nspec:\n"
                + "  endpointSelector: {matchLabels: {app: server}}\n" + spec;
    }

    private Optional<HttpPolicy> ingress(String spec, Labels peer, int port) throws Exception {
        return engine.parse("t.yaml", cnp(spec)).httpPolicy(Direction.INGRESS, SERVER, peer, port, EnforcementMode.DEFAULT);
    }

    private static HttpRequestInfo req(String method, String path, String... headers) {
        Map<String, List<String>> h = new java.util.TreeMap<>();
        for (int i = 0; i < headers.length; i += 2) h.put(headers[i], List.of(headers[i + 1]));
        return new HttpRequestInfo(method, path, null, h);
    }

    @Test
    void decisionsNameTheHttpRuleOrSayWhyNoneMatched() throws Exception {
        HttpPolicy h = ingress("  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n    toPorts:\n"
                + "    - ports: [{port: '80', protocol: TCP}]\n      rules: {http: [{method: POST, path: /a}, {method: GET}]}\n"
                + "    - ports: [{port: '81', protocol: TCP}]\n      rules: {http: [{path: /b}]}\n", CLIENT, 80).orElseThrow();
        Decision post = h.decide(HttpRequestInfo.of("POST", "/a"));
        assertTrue(post.allowed() && post.l7());
        assertEquals("default/rule1 ingress[0] toPorts[0].http[0]", post.rule());
        assertEquals("default/rule1 ingress[0] toPorts[0].http[1]", h.decide(HttpRequestInfo.of("GET", "/zzz")).rule());
        Decision no = h.decide(HttpRequestInfo.of("POST", "/x"));
        assertFalse(no.allowed());
        assertTrue(no.l7());
        assertEquals("no HTTP rule matches POST /x", no.rule());
        assertTrue(no.ruleId() != 0, "the governing rule's id, so that events can name the policy");
        HttpPolicy b = ingress("  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n    toPorts:\n"
                + "    - ports: [{port: '80', protocol: TCP}]\n      rules: {http: [{method: POST, path: /a}]}\n"
                + "    - ports: [{port: '81', protocol: TCP}]\n      rules: {http: [{path: /b}]}\n", CLIENT, 81).orElseThrow();
        assertEquals("default/rule1 ingress[0] toPorts[1].http[0]", b.decide(HttpRequestInfo.of("DELETE", "/b")).rule());
        assertFalse(b.decide(HttpRequestInfo.of("POST", "/a")).allowed(), "port 80's rules do not apply on 81");
    }

    @Test
    void noHttpRuleMeansL3L4Decides() throws Exception {
        String spec = "  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n    toPorts:\n"
                + "    - ports: [{port: '80', protocol: TCP}]\n      rules: {http: [{method: GET}]}\n"
                + "    - ports: [{port: '8080', protocol: TCP}]\n";
        assertTrue(ingress(spec, CLIENT, 8080).isEmpty());
        assertTrue(ingress(spec, OTHER, 80).isEmpty(), "a peer the rule does not allow never reaches the proxy");
        assertTrue(ingress(spec, CLIENT, 80).isPresent());
        PolicySet s = engine.parse("t.yaml", cnp(spec));
        assertTrue(s.httpPolicy(Direction.INGRESS, SERVER, CLIENT, 80, EnforcementMode.NEVER).isEmpty());
        assertTrue(s.httpPolicy(Direction.EGRESS, SERVER, CLIENT, 80, EnforcementMode.DEFAULT).isEmpty());
    }

    @Test
    void aDenyWinsBeforeTheProxy() throws Exception {
        String spec = "  ingress:\n  - toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n      rules: {http: [{}]}\n"
                + "  ingressDeny:\n  - fromEndpoints: [{matchLabels: {app: other}}]\n";
        assertTrue(ingress(spec, CLIENT, 80).isPresent());
        assertTrue(ingress(spec, OTHER, 80).isEmpty());
        PolicySet s = engine.parse("t.yaml", cnp(spec));
        assertFalse(s.decide(Direction.INGRESS, SERVER, OTHER, 80, Protocol.TCP, EnforcementMode.DEFAULT).allowed());
    }

    @Test
    void anyAllowOfThePeerWithoutHttpRulesAdmitsEveryRequest() throws Exception {
        String l7 = "  ingress:\n  - toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n      rules: {http: [{method: GET}]}\n";
        HttpPolicy same = ingress(l7 + "  - fromEndpoints: [{matchLabels: {app: client}}]\n"
                + "    toPorts: [{ports: [{port: '80'}]}]\n", CLIENT, 80).orElseThrow();
        Decision d = same.decide(HttpRequestInfo.of("DELETE", "/"));
        assertTrue(d.allowed());
        assertEquals("default/rule1 ingress[1] (L3/L4 allow of 80/ANY without HTTP rules: any request)", d.rule());
        // Cilium's union: an L3-only allow is a port-0 policy with an allow-all rule for its remotes
        Decision l3 = ingress(l7 + "  - fromEndpoints: [{matchLabels: {app: client}}]\n", CLIENT, 80).orElseThrow()
                .decide(HttpRequestInfo.of("DELETE", "/"));
        assertTrue(l3.allowed(), "an L3-only allow");
        assertEquals("default/rule1 ingress[1] (L3-only allow of every port without HTTP rules: any request)", l3.rule());
        Decision range = ingress(l7 + "  - fromEndpoints: [{matchLabels: {app: client}}]\n"
                + "    toPorts: [{ports: [{port: '1', endPort: 1000, protocol: TCP}]}]\n", CLIENT, 80).orElseThrow()
                .decide(HttpRequestInfo.of("DELETE", "/"));
        assertTrue(range.allowed(), "a range around the port");
        assertEquals("default/rule1 ingress[1] (L3/L4 allow of 1-1000/TCP without HTTP rules: any request)", range.rule());
        assertFalse(ingress(l7 + "  - fromEndpoints: [{matchLabels: {app: other}}]\n    toPorts: [{ports: [{port: '80'}]}]\n",
                CLIENT, 80).orElseThrow().decide(HttpRequestInfo.of("DELETE", "/")).allowed(), "another peer's allow");
        assertFalse(ingress(l7 + "  - fromEndpoints: [{matchLabels: {app: client}}]\n"
                + "    toPorts: [{ports: [{port: '80', protocol: UDP}]}]\n", CLIENT, 80).orElseThrow()
                .decide(HttpRequestInfo.of("DELETE", "/")).allowed(), "a UDP allow says nothing about TCP");
        assertFalse(ingress(l7 + "  - fromEndpoints: [{matchLabels: {app: client}}]\n"
                + "    toPorts: [{ports: [{port: '81'}]}]\n", CLIENT, 80).orElseThrow()
                .decide(HttpRequestInfo.of("DELETE", "/")).allowed(), "another port");
        Decision denied = ingress(l7 + "  - fromEndpoints: [{matchLabels: {app: other}}]\n", CLIENT, 80).orElseThrow()
                .decide(HttpRequestInfo.of("DELETE", "/"));
        assertFalse(denied.allowed());
        assertEquals("no HTTP rule matches DELETE /", denied.rule());
    }

    @Test
    void headersHostAndEmptyRules() throws Exception {
        HttpPolicy h = ingress("  ingress:\n  - toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n      rules:\n"
                + "        http:\n        - headers: ['X-Has-Force: true', 'X-Jedi', 'X-Colon:v']\n"
                + "        - host: 'api\\.example\\.com'\n          method: GET\n"
                + "        - headerMatches: [{name: X-Token, value: abc}, {name: x-trace}]\n", CLIENT, 80).orElseThrow();
        assertTrue(h.decide(req("PUT", "/", "X-Has-Force", "true", "x-jedi", "", "X-COLON", "v")).allowed());
        assertFalse(h.decide(req("PUT", "/", "X-Has-Force", "true", "x-jedi", "")).allowed());
        assertFalse(h.decide(req("PUT", "/", "X-Has-Force", "True", "x-jedi", "", "X-Colon", "v")).allowed(),
                "values are exact");
        assertTrue(h.decide(new HttpRequestInfo("GET", "/", "api.example.com", Map.of())).allowed());
        assertFalse(h.decide(new HttpRequestInfo("GET", "/", "api.example.com:8080", Map.of())).allowed(),
                "the whole Host value, as Cilium matches the authority");
        assertFalse(h.decide(new HttpRequestInfo("GET", "/", "apiXexample.com", Map.of())).allowed());
        assertTrue(h.decide(req("POST", "/", "x-token", "abc", "X-Trace", "1")).allowed());
        assertFalse(h.decide(req("POST", "/", "x-token", "abd", "X-Trace", "1")).allowed());
        HttpPolicy any = ingress("  ingress:\n  - toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n"
                + "      rules: {http: [{}]}\n", CLIENT, 80).orElseThrow();
        assertEquals("default/rule1 ingress[0] http[0]", any.decide(HttpRequestInfo.of("BREW", "/coffee")).rule());
        HttpPolicy none = ingress("  ingress:\n  - toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n"
                + "      rules: {http: []}\n", CLIENT, 80).orElseThrow();
        assertEquals("default/rule1 ingress[0] http (empty: any request)",
                none.decide(HttpRequestInfo.of("BREW", "/coffee")).rule());
    }

    @Test
    void egressRulesAreJudgedForTheClient() throws Exception {
        PolicySet s = engine.parse("t.yaml", "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: c}\n"
                + "spec:\n  endpointSelector: {matchLabels: {app: client}}\n  egress:\n"
                + "  - toEndpoints: [{matchLabels: {app: server}}]\n    toPorts:\n"
                + "    - ports: [{port: '80', protocol: TCP}]\n      rules: {http: [{method: GET, path: '/v1/.*'}]}\n");
        HttpPolicy h = s.httpPolicy(Direction.EGRESS, CLIENT, SERVER, 80, EnforcementMode.DEFAULT).orElseThrow();
        assertEquals("default/c egress[0] http[0]", h.decide(HttpRequestInfo.of("GET", "/v1/x")).rule());
        assertFalse(h.decide(HttpRequestInfo.of("GET", "/v2/x")).allowed());
        TraceResult t = s.trace(CLIENT, SERVER, 80, Protocol.TCP, EnforcementMode.DEFAULT);
        String text = String.join("\n", t.explanation());
        assertTrue(t.egress().l7(), text);
        assertTrue(text.contains("with L7 HTTP rules: the L7 proxy judges each request"), text);
        assertTrue(text.contains("default/c egress[0] http[0]: method=GET path=/v1/.*"), text);
        assertFalse(text.contains("not enforced yet"), text);
    }

    /** docs/policy.md's example: the L3-only allow of foo admits foo's PUT on the L7 port, and trace names it. */
    @Test
    void traceNamesTheL3OnlyRuleThatAdmittedTheRequest() throws Exception {
        PolicySet s = engine.parse("t.yaml", cnp("  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n"
                + "  - toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n      rules: {http: [{method: GET, path: /}]}\n"));
        TraceResult put = s.trace(CLIENT, SERVER, 80, Protocol.TCP, EnforcementMode.DEFAULT, HttpRequestInfo.of("PUT", "/"));
        assertTrue(put.allowed());
        assertEquals("default/rule1 ingress[0] (L3-only allow of every port without HTTP rules: any request)",
                put.ingress().rule());
        String text = String.join("\n", put.explanation());
        assertTrue(text.contains("Ingress verdict: allowed at L3/L4, then L7"), text);
        assertTrue(text.contains("L7 ingress PUT /: allowed by default/rule1 ingress[0] (L3-only allow"), text);
        TraceResult other = s.trace(OTHER, SERVER, 80, Protocol.TCP, EnforcementMode.DEFAULT, HttpRequestInfo.of("PUT", "/"));
        assertFalse(other.allowed());
        assertEquals("no HTTP rule matches PUT /", other.ingress().rule());
        assertEquals("default/rule1 ingress[1] http[0]", s.trace(OTHER, SERVER, 80, Protocol.TCP,
                EnforcementMode.DEFAULT, HttpRequestInfo.of("GET", "/")).ingress().rule());
        // the connection still goes through the proxy (CVE-2024-52529): the client's identity gets a REDIRECT on 80
        io.septum.api.Identity client = new io.septum.api.Identity(300, CLIENT.asStrings(), false);
        io.septum.api.policy.EndpointPolicy ep = s.resolve(SERVER, List.of(client), EnforcementMode.DEFAULT);
        assertEquals(io.septum.api.policy.PolicyAction.REDIRECT,
                ResolveMatchesDecideTest.lookup(ep, Direction.INGRESS, 300, 80, Protocol.TCP));
        assertEquals(io.septum.api.policy.PolicyAction.ALLOW,
                ResolveMatchesDecideTest.lookup(ep, Direction.INGRESS, 300, 81, Protocol.TCP));
    }

    @Test
    void traceJudgesOneRequestOnBothSides() throws Exception {
        PolicySet s = engine.parse("t.yaml", cnp("  ingress:\n  - fromEndpoints: [{matchLabels: {app: client}}]\n"
                + "    toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n      rules: {http: [{method: POST, path: /v1/request-landing}]}\n"));
        TraceResult ok = s.trace(CLIENT, SERVER, 80, Protocol.TCP, EnforcementMode.DEFAULT,
                HttpRequestInfo.of("POST", "/v1/request-landing"));
        assertTrue(ok.allowed());
        assertEquals("default/rule1 ingress[0] http[0]", ok.ingress().rule());
        TraceResult no = s.trace(CLIENT, SERVER, 80, Protocol.TCP, EnforcementMode.DEFAULT,
                HttpRequestInfo.of("PUT", "/v1/exhaust-port"));
        assertFalse(no.allowed());
        assertEquals("no HTTP rule matches PUT /v1/exhaust-port", no.ingress().rule());
        String text = String.join("\n", no.explanation());
        assertTrue(text.contains("L7 ingress PUT /v1/exhaust-port: denied: no HTTP rule matches PUT /v1/exhaust-port"), text);
        assertTrue(text.endsWith("Final verdict for PUT /v1/exhaust-port: denied (HTTP 403 Access denied)"), text);
        TraceResult dropped = s.trace(OTHER, SERVER, 80, Protocol.TCP, EnforcementMode.DEFAULT,
                HttpRequestInfo.of("POST", "/v1/request-landing"));
        assertFalse(dropped.allowed());
        assertEquals("default deny: no rule allows", dropped.ingress().rule());
        assertTrue(String.join("\n", dropped.explanation()).contains("never sent, the connection is dropped at L3/L4"));
        assertEquals(s.trace(CLIENT, SERVER, 80, Protocol.TCP, EnforcementMode.DEFAULT),
                s.trace(CLIENT, SERVER, 80, Protocol.TCP, EnforcementMode.DEFAULT, null));
    }

    @Test
    void badHttpRulesAreRefusedWithTheirField() {
        String[][] cases = {
                {"path: '/v1/(unclosed'", "spec.ingress[0].toPorts[0].rules.http[0].path", "invalid regular expression \"/v1/(unclosed\" in path"},
                {"host: '*.example.com'", "spec.ingress[0].toPorts[0].rules.http[0].host", "invalid regular expression \"*.example.com\" in host"},
                {"method: [GET]", "spec.ingress[0].toPorts[0].rules.http[0].method", "expected a regular expression string"},
                {"headers: ['X(bad): v', 'X-Ok']", "spec.ingress[0].toPorts[0].rules.http[0].headers[0]", "invalid header"},
                {"headerMatches: [{value: x}]", "spec.ingress[0].toPorts[0].rules.http[0].headerMatches[0].name", "needs a name"},
                {"headerMatches: [{name: X-A, mismatch: LOG}]", "spec.ingress[0].toPorts[0].rules.http[0].headerMatches[0].mismatch", "not supported"},
                {"headerMatches: [{name: X-A, secret: {name: s}}]", "spec.ingress[0].toPorts[0].rules.http[0].headerMatches[0].secret", "not supported"},
                {"methods: GET", "spec.ingress[0].toPorts[0].rules.http[0].methods", "unknown field"},
        };
        for (String[] c : cases) {
            String yaml = cnp("  ingress:\n  - toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n      rules:\n"
                    + "        http:\n        - " + c[0] + "\n");
            List<ValidationError> errs = assertThrows(PolicyValidationException.class,
                    () -> engine.parse("bad.yaml", yaml), c[0]).errors();
            String all = errs.stream().map(ValidationError::message).reduce("", (a, b) -> a + "\n" + b);
            assertTrue(errs.stream().anyMatch(e -> e.field().equals(c[1]) && e.document() == 1
                    && "bad.yaml".equals(e.file())), () -> c[0] + ": no error on " + c[1] + ":" + all);
            assertTrue(all.contains(c[2]), () -> c[0] + ": missing \"" + c[2] + "\" in:" + all);
        }
    }
}
