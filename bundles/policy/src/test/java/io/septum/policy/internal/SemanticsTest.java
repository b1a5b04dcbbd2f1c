package io.septum.policy.internal;

import static io.septum.policy.internal.ResolveMatchesDecideTest.labels;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.septum.api.Identity;
import io.septum.api.Labels;
import io.septum.api.ReservedIdentity;
import io.septum.api.policy.Decision;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EndpointPolicy;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.HttpPolicy;
import io.septum.api.policy.HttpRequestInfo;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.RuleRef;
import io.septum.api.policy.TraceResult;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SemanticsTest {
    private final PolicyEngine engine = new PolicyEngineImpl();
    private static final Labels DB = labels("k8s:app=db", "k8s:io.kubernetes.pod.namespace=default");
    private static final Labels API = labels("k8s:app=api", "k8s:io.kubernetes.pod.namespace=default");
    private static final Labels HOST = labels("reserved:host");
    private static final Labels REMOTE = labels("reserved:remote-node");
    private static final Labels WORLD = labels("reserved:world");
    private static final Labels EXT = labels("cidr:10.198.1.10/32", "reserved:world");

    private PolicySet parse(String yaml) throws Exception {
        return engine.parse("test", yaml);
    }

    private static String cnp(String name, String spec) {
        return "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: " + name + "}\nspec:\n" + spec;
    }

    private boolean ingress(PolicySet s, Labels subject, Labels peer, int port, Protocol proto, EnforcementMode mode) {
        return s.decide(Direction.INGRESS, subject, peer, port, proto, mode).allowed();
    }

    /** Over TCP, in the default mode. */
    private boolean ingress(PolicySet s, Labels subject, Labels peer, int port) {
        return ingress(s, subject, peer, port, Protocol.TCP, EnforcementMode.DEFAULT);
    }

    /** An entity, the peers it matches and those it does not. */
    static Stream<Arguments> entities() {
        Labels otherNamespace = labels("netns:app=x", "k8s:io.kubernetes.pod.namespace=elsewhere");
        return Stream.of(
                arguments("host", List.of(HOST), List.of(API, WORLD, REMOTE)), // the host only
                arguments("cluster", List.of(otherNamespace, HOST, REMOTE), List.of(WORLD, EXT))); // endpoints and nodes, not the world
    }

    @ParameterizedTest
    @MethodSource("entities")
    void anEntityMatchesItsPeersOnly(String entity, List<Labels> matched, List<Labels> unmatched) throws Exception {
        PolicySet s = parse(cnp(entity, "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n"
                + "  - fromEntities: [" + entity + "]\n"));
        for (Labels peer : matched) assertTrue(ingress(s, DB, peer, 80), peer.toString());
        for (Labels peer : unmatched) assertFalse(ingress(s, DB, peer, 80), peer.toString());
    }

    @Test
    void selectorsNeverSelectReservedUnlessTheyNameIt() throws Exception {
        PolicySet s = parse("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: c}\nspec:\n"
                + "  endpointSelector: {}\n  ingress:\n  - fromEndpoints:\n    - matchExpressions: [{key: app, operator: DoesNotExist}]\n"
                + "  - fromEndpoints: [{}]\n    toPorts: [{ports: [{port: '81'}]}]\n"
                + "  - fromEndpoints: [{matchLabels: {'reserved:host': ''}}]\n    toPorts: [{ports: [{port: '82'}]}]\n");
        assertFalse(ingress(s, DB, HOST, 80));
        assertFalse(ingress(s, DB, WORLD, 80));
        assertFalse(ingress(s, DB, EXT, 81));
        assertTrue(ingress(s, DB, API, 81));
        assertTrue(ingress(s, DB, HOST, 82));
        assertTrue(ingress(s, DB, labels("k8s:io.kubernetes.pod.namespace=x"), 80));
    }

    @Test
    void sourceQualifiedKeysMatchOnlyThatSource() throws Exception {
        PolicySet s = parse(cnp("k", "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n"
                + "  - fromEndpoints: [{matchLabels: {'k8s:app': api}}]\n"));
        assertTrue(ingress(s, DB, API, 80));
        Labels netnsApi = labels("netns:app=api", "k8s:io.kubernetes.pod.namespace=default");
        assertFalse(ingress(s, DB, netnsApi, 80));
        // the subject selector has no source: a netns endpoint is selected too
        Labels netnsDb = labels("netns:app=db", "k8s:io.kubernetes.pod.namespace=default");
        assertFalse(ingress(s, netnsDb, netnsApi, 80));
    }

    @Test
    void modes() throws Exception {
        PolicySet none = engine.empty();
        assertTrue(ingress(none, DB, API, 80));
        Decision d = none.decide(Direction.INGRESS, DB, API, 80, Protocol.TCP, EnforcementMode.DEFAULT);
        assertEquals("no rule selects endpoint for ingress (default allow)", d.rule());
        Decision always = none.decide(Direction.EGRESS, DB, API, 80, Protocol.TCP, EnforcementMode.ALWAYS);
        assertFalse(always.allowed());
        assertEquals("default deny: no rule allows", always.rule());
        EndpointPolicy ep = none.resolve(DB, List.of(), EnforcementMode.ALWAYS);
        assertTrue(ep.ingressEnforced() && ep.egressEnforced() && ep.entries().isEmpty());
        PolicySet deny = parse(cnp("d", "  endpointSelector: {}\n  ingressDeny:\n  - fromEntities: [all]\n"));
        assertFalse(ingress(deny, DB, API, 80));
        assertTrue(ingress(deny, DB, API, 80, Protocol.TCP, EnforcementMode.NEVER));
        assertEquals(EndpointPolicy.OPEN, deny.resolve(DB, List.of(), EnforcementMode.NEVER));
    }

    @Test
    void denyOnlyRuleIsolatesAndDefaultDenyCanBeTurnedOff() throws Exception {
        PolicySet s = parse(cnp("d", "  endpointSelector: {matchLabels: {app: db}}\n  ingressDeny:\n"
                + "  - fromEndpoints: [{matchLabels: {app: bad}}]\n"));
        assertFalse(ingress(s, DB, API, 80));
        PolicySet soft = parse(cnp("d", "  endpointSelector: {matchLabels: {app: db}}\n"
                + "  enableDefaultDeny: {ingress: false}\n  ingressDeny:\n  - fromEndpoints: [{matchLabels: {app: bad}}]\n"));
        assertTrue(ingress(soft, DB, API, 80));
        Labels bad = labels("k8s:app=bad", "k8s:io.kubernetes.pod.namespace=default");
        assertFalse(ingress(soft, DB, bad, 80));
        EndpointPolicy ep = soft.resolve(DB, List.of(new Identity(300, bad.asStrings(), false)), EnforcementMode.DEFAULT);
        assertFalse(ep.ingressEnforced());
        assertEquals(List.of(PolicyAction.DENY), ep.entries().stream().map(PolicyEntry::action).toList());
    }

    @Test
    void fromRequiresConstrainsEndpointPeers() throws Exception {
        PolicySet s = parse(cnp("r", "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n"
                + "  - fromRequires: [{matchLabels: {env: prod}}]\n  - fromEndpoints: [{matchLabels: {app: api}}]\n"));
        assertFalse(ingress(s, DB, API, 80));
        Labels prodApi = labels("k8s:app=api", "k8s:env=prod", "k8s:io.kubernetes.pod.namespace=default");
        assertTrue(ingress(s, DB, prodApi, 80));
    }

    @Test
    void fromRequiresOfDenyRulesConstrainTheDenyRulesOnly() throws Exception {
        // Cilium's requirementsDeny: a deny rule's fromRequires narrow the endpoint peers of the deny rules selecting
        // the same endpoint, and the allow rules' requirements never narrow a deny
        PolicySet s = parse(cnp("r", "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n"
                + "  - fromEndpoints: [{matchLabels: {app: api}}]\n    fromRequires: [{matchLabels: {tier: back}}]\n"
                + "  ingressDeny:\n  - fromEndpoints: [{matchLabels: {app: api}}]\n"
                + "  - fromRequires: [{matchLabels: {env: test}}]\n"));
        Labels testApi = labels("k8s:app=api", "k8s:env=test", "k8s:tier=back", "k8s:io.kubernetes.pod.namespace=default");
        Labels prodApi = labels("k8s:app=api", "k8s:env=prod", "k8s:tier=back", "k8s:io.kubernetes.pod.namespace=default");
        Labels frontApi = labels("k8s:app=api", "k8s:env=prod", "k8s:io.kubernetes.pod.namespace=default");
        assertFalse(ingress(s, DB, testApi, 80), "the deny's requirement holds: denied");
        assertTrue(ingress(s, DB, prodApi, 80), "the deny requires env=test: not denied, and the allow admits it");
        assertFalse(ingress(s, DB, frontApi, 80), "the allow requires tier=back (not the deny's concern)");
        String trace = String.join("\n", s.trace(prodApi, DB, 80, io.septum.api.policy.Protocol.TCP,
                io.septum.api.policy.EnforcementMode.DEFAULT).explanation());
        assertTrue(trace.contains("Denies from") && trace.contains("no match"), trace);
    }

    @Test
    void resolveExpandsPortsAndUsesWildcardIdentity() throws Exception {
        PolicySet s = parse(cnp("p", "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n"
                + "  - toPorts: [{ports: [{port: '53'}, {port: '8000', endPort: 8010, protocol: TCP}]}]\n"
                + "  - fromEndpoints: [{matchLabels: {app: api}}]\n  egress:\n  - toEntities: [all]\n"
                + "  - toCIDR: [10.198.0.0/16]\n"));
        Identity api = new Identity(300, API.asStrings(), false);
        Identity cidr = new Identity(1 << 24, List.of("cidr:10.198.0.0/16", "reserved:world"), false);
        EndpointPolicy ep = s.resolve(DB, List.of(api, cidr, ReservedIdentity.WORLD.identity()), EnforcementMode.DEFAULT);
        int id0 = s.policies().get(0).rules().get(0).id();
        int id1 = s.policies().get(0).rules().get(1).id();
        int id2 = s.policies().get(0).rules().get(2).id();
        int id3 = s.policies().get(0).rules().get(3).id();
        Set<PolicyEntry> want = Set.of(
                new PolicyEntry(Direction.INGRESS, 0, Protocol.TCP, 53, 53, PolicyAction.ALLOW, id0),
                new PolicyEntry(Direction.INGRESS, 0, Protocol.UDP, 53, 53, PolicyAction.ALLOW, id0),
                new PolicyEntry(Direction.INGRESS, 0, Protocol.SCTP, 53, 53, PolicyAction.ALLOW, id0),
                new PolicyEntry(Direction.INGRESS, 0, Protocol.TCP, 8000, 8010, PolicyAction.ALLOW, id0),
                new PolicyEntry(Direction.INGRESS, 300, Protocol.ANY, 0, 0, PolicyAction.ALLOW, id1),
                new PolicyEntry(Direction.EGRESS, 0, Protocol.ANY, 0, 0, PolicyAction.ALLOW, id2),
                new PolicyEntry(Direction.EGRESS, 1 << 24, Protocol.ANY, 0, 0, PolicyAction.ALLOW, id3));
        assertEquals(want, Set.copyOf(ep.entries()));
        assertEquals(want.size(), ep.entries().size());
        assertTrue(ep.ingressEnforced() && ep.egressEnforced());
        assertEquals(List.of("10.198.0.0/16"), s.cidrPrefixes());
    }

    @Test
    void ruleIdsAreStablePositiveAndDisplayed() throws Exception {
        String yaml = cnp("rule1", "  endpointSelector: {}\n  ingress:\n  - fromEntities: [world]\n  - {}\n"
                + "  egressDeny:\n  - toEntities: [world]\n");
        PolicySet a = parse(yaml);
        PolicySet b = parse(yaml).merge(parse(cnp("other", "  endpointSelector: {}\n  ingress:\n  - {}\n")), 5);
        List<RuleRef> ra = a.policies().get(0).rules();
        assertEquals(3, ra.size());
        assertEquals("default/rule1 ingress[0]", ra.get(0).display());
        assertEquals("default/rule1 egressDeny[0]", ra.get(2).display());
        assertEquals(3, ra.stream().map(RuleRef::id).collect(Collectors.toSet()).size());
        for (RuleRef r : ra) {
            assertTrue(r.id() > 0);
            assertEquals(r, a.rule(r.id()).orElseThrow());
            assertEquals(r, b.rule(r.id()).orElseThrow(), "ids must not move when other policies change");
        }
        assertNotEquals(ra.get(0).id(), b.policies().stream().filter(p -> p.name().equals("other")).findFirst()
                .orElseThrow().rules().get(0).id());
    }

    @Test
    void mergeReplacesByKindNamespaceNameAndWithoutRemovesEveryKind() throws Exception {
        PolicySet base = parse(cnp("p", "  endpointSelector: {}\n  ingress:\n  - {}\n")
                + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n");
        PolicySet withRev = engine.empty().merge(base, 3);
        assertEquals(List.of(3L, 3L), withRev.policies().stream().map(PolicyInfo::revision).toList());
        PolicySet replaced = withRev.merge(parse(cnp("p", "  endpointSelector: {}\n  egress:\n  - {}\n")), 4);
        assertEquals(2, replaced.policies().size());
        PolicyInfo cnp = replaced.policies().stream().filter(p -> p.kind().equals("CiliumNetworkPolicy")).findFirst().orElseThrow();
        assertEquals(4, cnp.revision());
        assertEquals("egress", cnp.rules().get(0).section());
        assertTrue(replaced.without("default", "p").orElseThrow().policies().isEmpty());
        assertTrue(replaced.without("", "p").isEmpty());
        assertTrue(replaced.without("default", "nope").isEmpty());
    }

    @Test
    void networkPolicyIsolatesTheDirectionsItNames() throws Exception {
        PolicySet s = parse("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n}\nspec:\n"
                + "  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - {}\n");
        assertTrue(ingress(s, DB, EXT, 80), "an ingress rule without from allows all");
        assertFalse(s.decide(Direction.EGRESS, DB, API, 80, Protocol.TCP, EnforcementMode.DEFAULT).allowed());
        assertTrue(s.decide(Direction.EGRESS, API, DB, 80, Protocol.TCP, EnforcementMode.DEFAULT).allowed());
        PolicySet udp = parse("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n}\nspec:\n"
                + "  podSelector: {}\n  ingress:\n  - ports: [{protocol: UDP}]\n");
        assertTrue(ingress(udp, DB, API, 5353, Protocol.UDP, EnforcementMode.DEFAULT));
        assertFalse(ingress(udp, DB, API, 5353));
    }

    @Test
    void l7AllowIsReportedAndNoted() throws Exception {
        PolicySet s = parse(cnp("l7", "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n"
                + "  - fromEndpoints: [{matchLabels: {app: api}}]\n"
                + "  - fromEndpoints: [{matchLabels: {app: api}}]\n    toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n"
                + "      rules: {http: [{method: GET, path: '/v1/.*', headers: ['X-Foo: bar']}]}\n"));
        Decision d = s.decide(Direction.INGRESS, DB, API, 80, Protocol.TCP, EnforcementMode.DEFAULT);
        assertTrue(d.allowed() && d.l7());
        assertEquals("default/l7 ingress[1]", d.rule());
        assertFalse(s.decide(Direction.INGRESS, DB, API, 81, Protocol.TCP, EnforcementMode.DEFAULT).l7());
        assertEquals(List.of(), s.policies().get(0).notes());
        assertTrue(s.policies().get(0).rules().get(1).hasL7());
        // ingress[0] allows api on every port without HTTP rules: port 80 still goes to the proxy (CVE-2024-52529),
        // which admits every request of api there (Cilium's union: its L3-only port-0 policy is an allow-all rule)
        HttpPolicy h = s.httpPolicy(Direction.INGRESS, DB, API, 80, EnforcementMode.DEFAULT).orElseThrow();
        Decision any = h.decide(HttpRequestInfo.of("DELETE", "/v1/x"));
        assertTrue(any.allowed());
        assertEquals("default/l7 ingress[0] (L3-only allow of every port without HTTP rules: any request)", any.rule());
        // without the L3-only rule, the HTTP rule alone decides
        PolicySet only = parse(cnp("l7", "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n"
                + "  - fromEndpoints: [{matchLabels: {app: api}}]\n    toPorts:\n    - ports: [{port: '80', protocol: TCP}]\n"
                + "      rules: {http: [{method: GET, path: '/v1/.*', headers: ['X-Foo: bar']}]}\n"));
        HttpPolicy h1 = only.httpPolicy(Direction.INGRESS, DB, API, 80, EnforcementMode.DEFAULT).orElseThrow();
        assertEquals("default/l7 ingress[0] http[0]", h1.decide(new HttpRequestInfo("GET", "/v1/x", null,
                java.util.Map.of("x-foo", List.of("bar")))).rule());
        assertFalse(h1.decide(HttpRequestInfo.of("GET", "/v1/x")).allowed(), "the header is required");
        assertTrue(s.httpPolicy(Direction.INGRESS, DB, API, 81, EnforcementMode.DEFAULT).isEmpty());
    }

    @Test
    void traceExplainsBothSides() throws Exception {
        PolicySet s = parse(cnp("rule1", "  endpointSelector: {matchLabels: {app: db}}\n  ingress:\n"
                + "  - fromEndpoints: [{matchLabels: {app: api}}]\n    toPorts: [{ports: [{port: '80', protocol: TCP}]}]\n"));
        TraceResult ok = s.trace(API, DB, 80, Protocol.TCP, EnforcementMode.DEFAULT);
        assertTrue(ok.allowed());
        String text = String.join("\n", ok.explanation());
        assertTrue(text.contains("No policy selects the source for egress"), text);
        assertTrue(text.contains("Policy CiliumNetworkPolicy default/rule1 selects the destination"), text);
        assertTrue(text.contains("Ingress verdict: allowed"), text);
        assertEquals("default/rule1 ingress[0]", ok.ingress().rule());
        TraceResult no = s.trace(API, DB, 443, Protocol.TCP, EnforcementMode.DEFAULT);
        assertFalse(no.allowed());
        assertEquals("default deny: no rule allows", no.ingress().rule());
    }

    @Test
    void worldAndCidrZeroSelectTheWorldIdentity() throws Exception {
        PolicySet s = parse(cnp("w", "  endpointSelector: {}\n  egress:\n  - toCIDRSet: [{cidr: 0.0.0.0/0, except: [10.0.0.0/8]}]\n"));
        assertTrue(s.decide(Direction.EGRESS, DB, WORLD, 80, Protocol.TCP, EnforcementMode.DEFAULT).allowed());
        assertTrue(s.decide(Direction.EGRESS, DB, labels("cidr:1.2.3.4/32", "reserved:world"), 80, Protocol.TCP,
                EnforcementMode.DEFAULT).allowed());
        assertFalse(s.decide(Direction.EGRESS, DB, labels("cidr:10.1.2.3/32", "reserved:world"), 80, Protocol.TCP,
                EnforcementMode.DEFAULT).allowed());
        assertFalse(s.decide(Direction.EGRESS, DB, API, 80, Protocol.TCP, EnforcementMode.DEFAULT).allowed());
        assertEquals(List.of("0.0.0.0/0", "10.0.0.0/8"), s.cidrPrefixes());
    }
}
