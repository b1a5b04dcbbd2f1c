package io.septum.policy.internal;

import static io.septum.policy.internal.ResolveMatchesDecideTest.labels;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Labels;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.HttpPolicy;
import io.septum.api.policy.HttpRequestInfo;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.ValidationError;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RE2 regexes through the repository and the engine: what an import refuses, and what the proxy then judges. */
class L7RegexPolicyTest {
    @TempDir
    Path state;

    private static final Labels SERVER = labels("k8s:app=server", "k8s:io.kubernetes.pod.namespace=default");
    private static final Labels CLIENT = labels("k8s:app=client", "k8s:io.kubernetes.pod.namespace=default");

    private static final String GOOD = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: good}\n"
            + "spec:\n  endpointSelector: {matchLabels: {app: server}}\n  ingress:\n  - {}\n";

    /** A CNP with {@code specs}: the second rule's HTTP rule has the given path. */
    private static String withPath(String path) {
        return "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: api}\nspecs:\n"
                + "- endpointSelector: {matchLabels: {app: server}}\n  ingress:\n"
                + "  - fromEndpoints: [{matchLabels: {app: client}}]\n    toPorts:\n"
                + "    - ports: [{port: '80', protocol: TCP}]\n      rules:\n        http:\n"
                + "        - {method: 'GET|HEAD', path: '" + path + "'}\n";
    }

    @Test
    void aPatternRe2RefusesIsAPreciseErrorAndChangesNothing() throws Exception {
        PolicyRepositoryImpl repo = new PolicyRepositoryImpl(state, EnforcementMode.DEFAULT, new PolicyEngineImpl());
        repo.importPolicies("good.yaml", GOOD);
        long before = repo.revision();
        String[][] cases = {
                {"/v1/(?=admin).*", "invalid or unsupported Perl syntax: `(?=`"},
                {"/v1/(a)\\1", "invalid escape sequence: `\\1`"},
                {"/v1/a++", "invalid nested repetition operator: `++`"},
        };
        for (String[] c : cases) {
            String text = GOOD + "---\n" + withPath(c[0]);
            List<ValidationError> errs = assertThrows(PolicyValidationException.class,
                    () -> repo.importPolicies("l7.yaml", text)).errors();
            assertEquals(1, errs.size(), errs::toString);
            ValidationError e = errs.get(0);
            assertEquals("l7.yaml", e.file());
            assertEquals(2, e.document());
            assertEquals("default/api", e.policy());
            assertEquals("specs[0].ingress[0].toPorts[0].rules.http[0].path", e.field());
            assertTrue(e.reason().contains("\"" + c[0] + "\""), e.reason());
            assertTrue(e.reason().contains("RE2"), e.reason());
            assertTrue(e.reason().contains(c[1]), e.reason());
            System.out.println(e.message());
        }
        assertEquals(before, repo.revision(), "nothing of a refused file is applied");
        assertEquals(List.of("default/good"), repo.list().stream().map(p -> p.namespace() + "/" + p.name()).toList());
    }

    @Test
    void re2OnlySyntaxIsAcceptedAndDecides() throws Exception {
        HttpPolicy h = new PolicyEngineImpl().parse("t.yaml", withPath("/v1/(?P<kind>items|orders)/[[:digit:]]+"))
                .httpPolicy(Direction.INGRESS, SERVER, CLIENT, 80, EnforcementMode.DEFAULT).orElseThrow();
        assertTrue(h.decide(HttpRequestInfo.of("GET", "/v1/orders/42")).allowed());
        assertTrue(h.decide(HttpRequestInfo.of("HEAD", "/v1/items/7")).allowed());
        assertFalse(h.decide(HttpRequestInfo.of("GET", "/v1/users/42")).allowed());
        assertFalse(h.decide(HttpRequestInfo.of("GET", "/v1/orders/4x")).allowed());
        assertFalse(h.decide(HttpRequestInfo.of("GETX", "/v1/orders/42")).allowed());
    }

    @Test
    void theCatastrophicPatternDoesNotStallADecision() throws Exception {
        // the figure: 29.7 s in policy eval with java.util.regex for this one request
        HttpPolicy h = new PolicyEngineImpl().parse("t.yaml", withPath("/api/(.*a){8}"))
                .httpPolicy(Direction.INGRESS, SERVER, CLIENT, 80, EnforcementMode.DEFAULT).orElseThrow();
        HttpRequestInfo evil = HttpRequestInfo.of("GET", "/api/" + "a".repeat(50) + "!");
        long[] took = new long[1];
        boolean allowed = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            long t = System.nanoTime();
            boolean a = h.decide(evil).allowed();
            took[0] = System.nanoTime() - t;
            return a;
        });
        assertFalse(allowed);
        System.out.printf("decide(GET %s) with path /api/(.*a){8}: %.1f us%n", evil.path(), took[0] / 1e3);
    }
}
