package io.septum.policy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.ValidationError;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ValidationTest {
    private final PolicyEngine engine = new PolicyEngineImpl();

    private static String cnp(String spec) {
        return "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: ns}\nspec:\n" + spec;
    }

    private static String knp(String spec) {
        return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: k}\nspec:\n" + spec;
    }

    private List<ValidationError> errors(String yaml) {
        return assertThrows(PolicyValidationException.class, () -> engine.parse("f.yaml", yaml)).errors();
    }

    private void refused(String yaml, String field, String... reasonParts) {
        List<ValidationError> errs = errors(yaml);
        String all = errs.stream().map(ValidationError::message).reduce("", (a, b) -> a + "\n" + b);
        assertTrue(errs.stream().anyMatch(e -> e.field().equals(field)), () -> "no error on " + field + ":" + all);
        for (String r : reasonParts) assertTrue(all.contains(r), () -> "missing \"" + r + "\" in:" + all);
    }

    /** Each case {spec, field, reason}, made a document by {@code document}, is {@link #refused} with its reason and {@code context}. */
    private void refusedEach(String[][] cases, UnaryOperator<String> document, String... context) {
        for (String[] c : cases) {
            String[] reasonParts = Stream.concat(Stream.of(c[2]), Arrays.stream(context)).toArray(String[]::new);
            refused(document.apply(c[0]), c[1], reasonParts);
        }
    }

    @Test
    void ciliumRuleErrors() {
        String[][] cases = {
                {"  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: 'http', endPort: 90}]}]\n", "spec.ingress[0].toPorts[0].ports[0].endPort", "named port \"http\""},
                {"  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: 'Http'}]}]\n", "spec.ingress[0].toPorts[0].ports[0].port", "invalid port name \"Http\""},
                {"  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: 'a--b'}]}]\n", "spec.ingress[0].toPorts[0].ports[0].port", "\"--\""},
                {"  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: '80', protocol: ICMP}]}]\n", "spec.ingress[0].toPorts[0].ports[0].protocol", "ICMP"},
                {"  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: '53', protocol: UDP}], rules: {http: [{}]}}]\n", "spec.ingress[0].toPorts[0].ports[0].protocol", "only apply to TCP"},
                {"  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: '0', protocol: TCP}], rules: {http: [{}]}}]\n", "spec.ingress[0].toPorts[0].ports[0].port", "port 0"},
                {"  endpointSelector: {}\n  egressDeny:\n  - toPorts: [{ports: [{port: '80'}], rules: {http: [{}]}}]\n", "spec.egressDeny[0].toPorts[0].rules", "egressDeny"},
                {"  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: '53'}], rules: {dns: [{matchName: x}]}}]\n", "spec.ingress[0].toPorts[0].rules.dns", "egress only"},
                {"  endpointSelector: {}\n  egress:\n  - toPorts: [{ports: [{port: '53', protocol: TCP}], rules: {dns: [{matchName: x}]}}]\n", "spec.egress[0].toPorts[0].ports[0].protocol", "DNS rules can only apply to UDP"},
                {"  endpointSelector: {}\n  egress:\n  - toPorts: [{ports: [{port: '0'}], rules: {dns: [{matchPattern: '*'}]}}]\n", "spec.egress[0].toPorts[0].ports[0].port", "port 0"},
                {"  endpointSelector: {}\n  egress:\n  - toPorts: [{ports: [{port: '53'}], rules: {dns: [{matchName: 'a..b'}]}}]\n", "spec.egress[0].toPorts[0].rules.dns[0].matchName", "not a DNS name"},
                {"  endpointSelector: {}\n  egress:\n  - toPorts: [{ports: [{port: '53'}], rules: {dns: [{matchName: a, matchPattern: b}]}}]\n", "spec.egress[0].toPorts[0].rules.dns[0]", "not both"},
                {"  endpointSelector: {}\n  egress:\n  - toPorts: [{ports: [{port: '53'}], rules: {dns: [{}]}}]\n", "spec.egress[0].toPorts[0].rules.dns[0]", "needs matchName or matchPattern"},
                {"  endpointSelector: {}\n  egress:\n  - toPorts: [{ports: [{port: '53'}], rules: {dns: [{matchPattern: 'a.(b)'}]}}]\n", "spec.egress[0].toPorts[0].rules.dns[0].matchPattern", "not a DNS name pattern"},
                {"  endpointSelector: {}\n  egressDeny:\n  - toFQDNs: [{matchName: x}]\n", "spec.egressDeny[0].toFQDNs", "not allowed in egressDeny"},
                {"  endpointSelector: {}\n  egress:\n  - toFQDNs: [{matchName: x}]\n    toEndpoints: [{}]\n", "spec.egress[0]", "combining toEndpoints and toFQDNs"},
                {"  endpointSelector: {}\n  egress:\n  - toFQDNs: [{matchPattern: 'x y'}]\n", "spec.egress[0].toFQDNs[0].matchPattern", "not a DNS name pattern"},
                {"  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: '80'}], rules: {http: [{method: '(GET'}]}}]\n", "spec.ingress[0].toPorts[0].rules.http[0].method", "\"(GET\""},
                {"  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: '80', endPort: 70000}]}]\n", "spec.ingress[0].toPorts[0].ports[0].endPort", "70000"},
                {"  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{endPort: 90}]}]\n", "spec.ingress[0].toPorts[0].ports[0].endPort", "needs a port"},
                {"  nodeSelector: {}\n  ingress:\n  - {}\n", "spec.nodeSelector", "only allowed in a CiliumClusterwideNetworkPolicy"},
                {"  ingress:\n  - {}\n", "spec.endpointSelector", "needs an endpointSelector"},
                {"  endpointSelector: {matchExpressions: [{key: a, operator: Has}]}\n", "spec.endpointSelector.matchExpressions[0].operator", "\"Has\""},
                {"  endpointSelector: {matchExpressions: [{key: a, operator: In}]}\n", "spec.endpointSelector.matchExpressions[0].values", "at least one value"},
                {"  endpointSelector: {matchExpressions: [{key: a, operator: Exists, values: [x]}]}\n", "spec.endpointSelector.matchExpressions[0].values", "takes no values"},
                {"  endpointSelector: {}\n  ingress:\n  - fromEndpoint: [{}]\n", "spec.ingress[0].fromEndpoint", "unknown field"},
                {"  endpointSelector: {}\n  egress:\n  - toServices: [{k8sServiceSelector: {selector: {}}}]\n", "spec.egress[0].toServices[0].k8sServiceSelector", "not supported"},
                {"  endpointSelector: {}\n  egress:\n  - icmps: [{fields: [{type: 256}]}]\n", "spec.egress[0].icmps[0].fields[0].type", "0-255"},
                {"  endpointSelector: {}\n  egress:\n  - icmps: [{fields: [{type: Echo, family: IPv6}]}]\n", "spec.egress[0].icmps[0].fields[0].type", "unknown ICMPv6 type \"Echo\""},
                {"  endpointSelector: {}\n  egress:\n  - icmps: [{fields: [{type: 8, family: ipv4}]}]\n", "spec.egress[0].icmps[0].fields[0].family", "IPv4 or IPv6"},
                {"  endpointSelector: {}\n  egress:\n  - icmps: [{fields: []}]\n", "spec.egress[0].icmps[0].fields", "at least one"},
                {"  endpointSelector: {}\n  egress:\n  - icmps: [{fields: [{family: IPv4}]}]\n", "spec.egress[0].icmps[0].fields[0].type", "missing type"},
                {"  endpointSelector: {}\n  egress:\n  - icmps: [{fields: [{type: 8, code: 0}]}]\n", "spec.egress[0].icmps[0].fields[0].code", "unknown field"},
                {"  endpointSelector: {}\n  egress:\n  - icmps: [{field: [{type: 8}]}]\n", "spec.egress[0].icmps[0].field", "unknown field"},
                {"  endpointSelector: {}\n  egress:\n  - icmps: [{fields: [{type: 8}]}]\n    toPorts: [{ports: [{port: '80'}]}]\n", "spec.egress[0].icmps", "toPorts"},
                {"  endpointSelector: {}\n  egress:\n  - toCIDR: [\"fd00::/129\"]\n", "spec.egress[0].toCIDR[0]", "fd00::/129"},
                {"  endpointSelector: {}\n  egress:\n  - toCIDR: [\"10.1.2\"]\n", "spec.egress[0].toCIDR[0]", "\"10.1.2\""},
                {"  endpointSelector: {}\n  egress:\n  - toCIDRSet: [{cidr: \"fd00::/64\", except: [\"10.0.0.0/8\"]}]\n", "spec.egress[0].toCIDRSet[0].except[0]", "not inside"},
                {"  endpointSelector: {}\n  egress:\n  - toEntities: [World]\n", "spec.egress[0].toEntities[0]", "\"World\""},
                {"  endpointSelector: {}\n  ingress:\n  - fromEndpoints: [{}]\n    fromEntities: [world]\n", "spec.ingress[0]", "combining fromEndpoints and fromEntities"},
                {"  endpointSelector: {}\n  egress:\n  - toCIDR: [10.0.0.0/8]\n    toCIDRSet: [{cidr: 11.0.0.0/8}]\n", "spec.egress[0]", "combining toCIDR and toCIDRSet"}
        };
        refusedEach(cases, ValidationTest::cnp, "ns/p", "f.yaml", "document 1");
    }

    private static String ccnp(String spec) {
        return "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: h}\nspec:\n" + spec;
    }

    @Test
    void hostPolicyErrors() {
        String[][] cases = {
                {"  nodeSelector: {}\n  endpointSelector: {}\n", "spec", "not both"},
                {"  ingress:\n  - {}\n", "spec.endpointSelector", "or a nodeSelector"},
                {"  nodeSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: '80'}], rules: {http: [{}]}}]\n", "spec.ingress[0].toPorts", "not supported in host policies"},
                {"  nodeSelector: {}\n  egress:\n  - toPorts: [{ports: [{port: '53', protocol: UDP}], rules: {dns: [{matchName: a.b}]}}]\n", "spec.egress[0].toPorts", "not supported in host policies"},
                {"  nodeSelector: {}\n  egress:\n  - toFQDNs: [{matchName: a.example}]\n", "spec.egress[0].toFQDNs", "not supported in host policies"},
        };
        refusedEach(cases, ValidationTest::ccnp, "f.yaml", "document 1");
        // specs[]: the field names the rule in the list
        refused(ccnp("").replace("spec:\n", "specs:\n- nodeSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: '80'}], rules: {http: [{}]}}]\n"),
                "specs[0].ingress[0].toPorts", "not supported in host policies");
    }

    @Test
    void networkPolicyErrors() {
        String[][] cases = {
                {"  podSelector: {}\n  ingress:\n  - ports: [{port: 0}]\n", "spec.ingress[0].ports[0].port", "\"0\""},
                {"  podSelector: {}\n  ingress:\n  - ports: [{port: 80, protocol: ANY}]\n", "spec.ingress[0].ports[0].protocol", "\"ANY\""},
                {"  podSelector: {}\n  ingress:\n  - ports: [{port: http, endPort: 90}]\n", "spec.ingress[0].ports[0].endPort", "cannot be used with named port \"http\""},
                {"  podSelector: {}\n  ingress:\n  - ports: [{port: 123456789012345x}]\n", "spec.ingress[0].ports[0].port", "longer than 15"},
                {"  podSelector: {}\n  ingress:\n  - ports: [{port: '8080'}]\n  - ports: [{port: -web}]\n", "spec.ingress[1].ports[0].port", "start or end with '-'"},
                {"  podSelector: {}\n  ingress:\n  - ports: [{endPort: 90}]\n", "spec.ingress[0].ports[0].endPort", "needs a port"},
                {"  podSelector: {}\n  ingress:\n  - ports: [{port: 90, endPort: 80}]\n", "spec.ingress[0].ports[0].endPort", "below port"},
                {"  podSelector: {}\n  ingress:\n  - from: [{}]\n", "spec.ingress[0].from[0]", "a peer needs"},
                {"  podSelector: {}\n  policyTypes: [Inbound]\n", "spec.policyTypes[0]", "\"Inbound\""},
                {"  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]\n", "spec.egress[0].to[0].ipBlock.except[0]", "11.0.0.0/16"},
                {"  podSelector: {matchLabels: {'k8s:app': x}}\n", "spec.podSelector.matchLabels.k8s:app", "cannot contain"}
        };
        refusedEach(cases, ValidationTest::knp, "default/k", "NetworkPolicy");
    }

    @Test
    void tooManyPorts() {
        StringBuilder ports = new StringBuilder();
        for (int i = 1; i <= 41; i++) ports.append(i == 1 ? "" : ", ").append("{port: '").append(i).append("'}");
        refused(cnp("  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [" + ports + "]}]\n"),
                "spec.ingress[0].toPorts[0].ports", "at most 40");
    }

    @Test
    void everyErrorOfEveryDocumentIsReported() {
        String yaml = cnp("  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: '99999'}]}]\n"
                + "  - fromEntities: [moon]\n")
                + "---\n# just a comment\n---\n"
                + "apiVersion: cilium.io/v1\nkind: CiliumNetworkPolicy\nmetadata: {name: old}\nspec: {endpointSelector: {}}\n"
                + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"
                + "---\nkind: CiliumNetworkPolicy\napiVersion: cilium.io/v2\nmetadata: {name: dup}\nspec:\n  endpointSelector: {}\n  endpointSelector: {}\n";
        List<ValidationError> errs = errors(yaml);
        assertEquals(5, errs.size(), errs.toString());
        assertEquals(List.of(1, 1, 3, 4, 5), errs.stream().map(ValidationError::document).toList());
        assertTrue(errs.get(2).reason().contains("cilium.io/v1"));
        assertTrue(errs.get(3).reason().contains("ConfigMap"));
        assertTrue(errs.get(4).reason().contains("line 12") || errs.get(4).reason().contains("line"), errs.get(4).reason());
    }

    @Test
    void yamlSyntaxErrorNamesTheLineInTheFile() {
        String yaml = cnp("  endpointSelector: {}\n") + "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"
                + "metadata: {name: broken\nspec:\n  endpointSelector: {}\n";
        List<ValidationError> errs = errors(yaml);
        assertEquals(1, errs.size());
        assertEquals(2, errs.get(0).document());
        assertTrue(errs.get(0).reason().matches("YAML syntax error at line (9|10), column \\d+: .*"), errs.get(0).reason());
    }

    @Test
    void duplicateKeysAreAnError() {
        List<ValidationError> errs = errors(cnp("  endpointSelector: {}\n  ingress: []\n  ingress: []\n"));
        assertTrue(errs.get(0).reason().contains("ingress"), errs.toString());
    }

    @Test
    void listsEmptyDocumentsAndDefaults() throws Exception {
        String yaml = "---\n\n---\napiVersion: v1\nkind: List\nitems:\n"
                + "- apiVersion: cilium.io/v2\n  kind: CiliumClusterwideNetworkPolicy\n  metadata: {name: ccnp}\n  spec: {endpointSelector: {}}\n"
                + "- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n  metadata: {name: np, namespace: shop}\n  spec: {podSelector: {}}\n"
                + "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicyList\nitems:\n- metadata: {name: a}\n  specs:\n  - endpointSelector: {}\n    ingress: [{}]\n";
        PolicySet s = engine.parse("f", yaml);
        assertEquals(List.of("a", "ccnp", "np"), s.policies().stream().map(p -> p.name()).sorted().toList());
        assertEquals("", s.policies().stream().filter(p -> p.name().equals("ccnp")).findFirst().orElseThrow().namespace());
        assertEquals("default/a", s.policies().stream().filter(p -> p.name().equals("a")).findFirst().orElseThrow().qualifiedName());
        assertEquals("default/a specs[0].ingress[0]",
                s.policies().stream().filter(p -> p.name().equals("a")).findFirst().orElseThrow().rules().get(0).display());
        assertTrue(engine.parse("f", "").policies().isEmpty());
        assertTrue(engine.parse("f", "# nothing\n---\n").policies().isEmpty());
    }

    @Test
    void documentIsKeptAsWritten() throws Exception {
        String one = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: a}  # mine\nspec:\n  endpointSelector: {}\n";
        String two = one.replace("name: a", "name: b");
        PolicySet s = engine.parse("f", one + "---\n" + two);
        assertEquals(one, s.policies().get(0).document());
        assertEquals(two, s.policies().get(1).document());
        PolicySet again = engine.parse("f", s.policies().get(1).document());
        assertEquals("b", again.policies().get(0).name());
    }

    @Test
    void portsAsNumbersOrStrings() throws Exception {
        engine.parse("f", cnp("  endpointSelector: {}\n  ingress:\n  - toPorts: [{ports: [{port: 80}, {port: '443', endPort: '450'}, {port: '0'}]}]\n"));
        engine.parse("f", knp("  podSelector: {}\n  ingress:\n  - ports: [{port: '80'}, {port: 81, endPort: 90, protocol: SCTP}]\n"));
    }
}
