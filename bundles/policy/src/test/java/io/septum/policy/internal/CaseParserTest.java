package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.NamedPort;
import io.septum.api.policy.CaseResult;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.TestCase;
import java.util.List;
import org.junit.jupiter.api.Test;

class CaseParserTest {
    private final PolicyEngine engine = new PolicyEngineImpl();

    @Test
    void parsesTheCorpusFormat() throws Exception {
        TestCase tc = engine.parseCase("c.yaml", "name: c\nnamespaces: {prod: {team: prod}}\nendpoints:\n"
                + "  - {name: a, namespace: prod, labels: {app: a}, ports: [80, \"53/udp\"]}\n  - {name: b, labels: {app: b}}\n"
                + "external:\n  - {name: x, ip: 10.198.1.1}\npolicies: \"\"\nprobes:\n"
                + "  - {from: prod/a, to: b, port: 80, expect: allow}\n  - {from: x, to: a, port: 53, protocol: udp, expect: allow}\n");
        assertEquals("prod", tc.endpoints().get(0).namespace());
        assertEquals("default", tc.endpoints().get(1).namespace());
        assertEquals(List.of("80", "53/UDP"), tc.endpoints().get(0).ports());
        assertEquals(null, tc.endpoints().get(0).node());
        assertEquals("prod", tc.namespaces().get("prod").get("team"));
        assertEquals("TCP", tc.probes().get(0).protocol());
        assertEquals("UDP", tc.probes().get(1).protocol());
        CaseResult r = engine.evaluate(tc, EnforcementMode.DEFAULT);
        assertEquals(2, r.passed());
        CaseResult always = engine.evaluate(tc, EnforcementMode.ALWAYS);
        assertEquals(2, always.failed());
        assertEquals("default deny: no rule allows", always.results().get(0).rule());
    }

    @Test
    void badCasesAreRefusedWithTheField() {
        String base = "name: c\nendpoints:\n  - {name: a}\n  - {name: a, namespace: other}\n  - {name: b}\n";
        assertRefused(base + "probes:\n  - {from: a, to: b, port: 80, expect: allow}\n", "probes[0].from", "several endpoints");
        assertRefused(base + "probes:\n  - {from: zz, to: b, port: 80, expect: allow}\n", "probes[0].from", "\"zz\"");
        assertRefused(base + "probes:\n  - {from: b, to: other/a, port: 0, expect: allow}\n", "probes[0].port", "1-65535");
        assertRefused(base + "probes:\n  - {from: b, to: other/a, port: 80, expect: maybe}\n", "probes[0].expect", "maybe");
        assertRefused(base + "probes:\n  - {from: b, to: other/a, port: 80, protocol: GRE, expect: deny}\n", "probes[0].protocol", "GRE");
        assertRefused("name: c\nexternal:\n  - {name: x, ip: 10.1.1}\n", "external[0].ip", "10.1.1");
        assertRefused("name: c\nendpoints: [{name: a, ports: [99999]}]\n", "endpoints[0].ports[0]", "99999");
        assertRefused("name: [c\n", "", "line");
        assertRefused("name: c\nendpoints: [{name: a, node: -1}]\n", "endpoints[0].node", "-1");
        assertRefused("name: c\nendpoints: [{name: a, node: first}]\n", "endpoints[0].node", "first");
    }

    @Test
    void namedPortsListenAndProbesResolveThemOnTheDestination() throws Exception {
        TestCase tc = engine.parseCase("c.yaml", "name: c\nendpoints:\n"
                + "  - {name: a, ports: [80, {name: http-alt, port: 8080}, {name: dns, port: 53, protocol: udp}]}\n"
                + "  - {name: b}\nprobes:\n  - {from: b, to: a, port: http-alt, expect: deny}\n"
                + "  - {from: b, to: a, port: dns, protocol: UDP, expect: deny}\n");
        TestCase.Endpoint a = tc.endpoints().get(0);
        assertEquals(List.of("80", "8080/TCP", "53/UDP"), a.ports());
        assertEquals(List.of(new NamedPort("http-alt", 8080, "TCP"), new NamedPort("dns", 53, "UDP")), a.namedPorts());
        assertEquals(8080, tc.probes().get(0).port());
        assertEquals("http-alt", tc.probes().get(0).portName());
        assertEquals(53, tc.probes().get(1).port());
        assertEquals(null, new TestCase.Probe("a", "b", 80, "TCP", null, "allow").portName());
    }

    @Test
    void badNamedPortsAreRefusedWithTheField() {
        String ep = "name: c\nendpoints:\n  - {name: a, ports: [{name: dns, port: 53, protocol: UDP}]}\n  - {name: b}\n";
        assertRefused(ep + "probes:\n  - {from: b, to: a, port: dns, expect: allow}\n", "probes[0].port",
                "\"a\" declares no port named \"dns\" for TCP");
        assertRefused(ep + "probes:\n  - {from: b, to: a, port: DNS, protocol: UDP, expect: allow}\n", "probes[0].port",
                "lowercase");
        assertRefused("name: c\nendpoints: [{name: a, ports: [{name: web--x, port: 80}]}]\n", "endpoints[0].ports[0]", "\"--\"");
        assertRefused("name: c\nendpoints: [{name: a, ports: [{name: web, port: 0}]}]\n", "endpoints[0].ports[0]", "port 0 is not 1-65535");
        assertRefused("name: c\nendpoints: [{name: a, ports: [{port: 80}]}]\n", "endpoints[0].ports[0].name", "missing name");
        assertRefused("name: c\nendpoints: [{name: a, ports: [{name: w, port: 80, proto: TCP}]}]\n",
                "endpoints[0].ports[0].proto", "unknown field");
        assertRefused("name: c\nendpoints: [{name: a, ports: [{name: w, port: 80}, {name: w, port: 81}]}]\n",
                "endpoints[0].ports[1].name", "declared twice");
        assertRefused("name: c\nendpoints: [{name: a, ports: [{name: w, port: 80, protocol: ICMP}]}]\n",
                "endpoints[0].ports[0]", "ICMP");
    }

    @Test
    void aNodePlacementIsKeptAndChangesNoVerdict() throws Exception {
        String yaml = "name: c\nendpoints:\n  - {name: a, labels: {app: a}, node: 2}\n  - {name: b, labels: {app: b}}\n"
                + "policies: |\n  apiVersion: cilium.io/v2\n  kind: CiliumNetworkPolicy\n  metadata: {name: p}\n"
                + "  spec:\n    endpointSelector: {matchLabels: {app: b}}\n    ingress: [{fromEndpoints: [{matchLabels: {app: a}}]}]\n"
                + "probes:\n  - {from: a, to: b, port: 80, expect: allow}\n  - {from: b, to: a, port: 80, expect: allow}\n";
        TestCase placed = engine.parseCase("c.yaml", yaml);
        TestCase unplaced = engine.parseCase("c.yaml", yaml.replace(", node: 2", ""));
        assertEquals(2, placed.endpoints().get(0).node());
        assertEquals(null, placed.endpoints().get(1).node());
        assertEquals(engine.evaluate(unplaced, EnforcementMode.DEFAULT).results(),
                engine.evaluate(placed, EnforcementMode.DEFAULT).results());
    }

    @Test
    void invalidPoliciesInACaseAreRefusedByEvaluate() throws Exception {
        TestCase tc = engine.parseCase("c", "name: c\nendpoints: [{name: a}]\npolicies: |\n  kind: Nope\n  apiVersion: v9\n");
        PolicyValidationException e = assertThrows(PolicyValidationException.class,
                () -> engine.evaluate(tc, EnforcementMode.DEFAULT));
        assertTrue(e.getMessage().contains("Nope"), e.getMessage());
    }

    /** The endpoints, external hosts and probes are each a list of mappings; anything else names what was expected. */
    @Test
    void listsThatAreNotListsOfMappingsAreRefusedWithTheField() {
        assertRefused("name: c\nendpoints: {a: 1}\n", "endpoints", "expected a list of endpoints");
        assertRefused("name: c\nendpoints: [a]\n", "endpoints[0]", "expected {name, namespace, labels, ports}");
        assertRefused("name: c\nexternal: x\n", "external", "expected a list of external hosts");
        assertRefused("name: c\nexternal: [x]\n", "external[0]", "expected {name, ip, ports}");
        assertRefused("name: c\nprobes: 1\n", "probes", "expected a list of probes");
        assertRefused("name: c\nendpoints: [{name: a}]\nprobes: [{from: a, to: a, port: 80, expect: allow}, 2]\n",
                "probes[1]", "expected {from, to, port, protocol, expect}");
    }

    private void assertRefused(String yaml, String field, String reason) {
        PolicyValidationException e = assertThrows(PolicyValidationException.class, () -> engine.parseCase("c.yaml", yaml));
        assertTrue(e.errors().stream().anyMatch(er -> er.field().equals(field)), () -> field + " not in " + e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertTrue(e.getMessage().startsWith("c.yaml"), e.getMessage());
    }
}
