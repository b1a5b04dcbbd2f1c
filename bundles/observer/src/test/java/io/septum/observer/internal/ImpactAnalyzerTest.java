package io.septum.observer.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Endpoint;
import io.septum.api.EndpointState;
import io.septum.api.Identity;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowHttp;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import io.septum.api.flow.FlowL7;
import io.septum.api.flow.ImpactReport;
import io.septum.api.flow.ImpactReport.ImpactFlow;
import io.septum.api.flow.PolicyDiff;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicySet;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/**
 * The Star Wars demo's traffic, recorded with no policy in force, judged against the demo's L7 policy: the real
 * policy semantics (the policy bundle's engine) decide before and after.
 */
class ImpactAnalyzerTest {
    private static final PolicyEngine ENGINE = ServiceLoader.load(PolicyEngine.class).findFirst().orElseThrow();
    private static final String NS = "k8s:io.kubernetes.pod.namespace=default";
    private static final Identity TIEFIGHTER = new Identity(256, List.of("k8s:org=empire", "k8s:class=tiefighter", NS), false);
    private static final Identity XWING = new Identity(257, List.of("k8s:org=alliance", "k8s:class=xwing", NS), false);
    private static final Identity DEATHSTAR = new Identity(258, List.of("k8s:org=empire", "k8s:class=deathstar", NS), false);
    private static final FlowEndpoint TIE = new FlowEndpoint(1, 256, "default", "tiefighter", TIEFIGHTER.labels());
    private static final FlowEndpoint XW = new FlowEndpoint(2, 257, "default", "xwing", XWING.labels());
    private static final FlowEndpoint DS = new FlowEndpoint(3, 258, "default", "deathstar", DEATHSTAR.labels());
    private static final FlowEndpoint WORLD = new FlowEndpoint(0, 2, null, null, List.of("reserved:world"));

    /** The demo's rule1 up to its ports: the empire may reach the deathstar. */
    private static final String FROM_EMPIRE = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: rule1, namespace: default}
            spec:
              endpointSelector: {matchLabels: {org: empire, class: deathstar}}
              ingress:
              - fromEndpoints: [{matchLabels: {org: empire}}]
            """;
    private static final String L3L4 = FROM_EMPIRE + """
                toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """;
    private static final String L7 = FROM_EMPIRE + """
                toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules:
                    http: [{method: POST, path: /v1/request-landing}]
            """;

    private PolicySet inForce = ENGINE.empty();
    private final List<Flow> recorded = new ArrayList<>();

    private ImpactAnalyzer analyzer() {
        Endpoint deathstar = new Endpoint(3, "deathstar", "default", "netns", List.of("k8s:org=empire",
                "k8s:class=deathstar"), 258, EndpointState.READY, List.of("10.0.0.3"), null, 0, null, false, false,
                null, 1, null, false, List.of(new io.septum.api.NamedPort("http", 80, "TCP")));
        Endpoint xwing = new Endpoint(2, "xwing", "default", "netns", List.of("k8s:org=alliance", "k8s:class=xwing"),
                257, EndpointState.READY, List.of("10.0.0.2"), null, 0, null, false, false, null, 1, null);
        return new ImpactAnalyzer(new ImpactAnalyzer.Inputs(SuggesterTest.store(recorded), () -> inForce,
                () -> EnforcementMode.DEFAULT, () -> inForce.policies(), () -> List.of(deathstar, xwing),
                () -> List.of(TIEFIGHTER, XWING, DEATHSTAR)));
    }

    private static Flow l4(String dir, String verdict, FlowEndpoint src, FlowEndpoint dst, String srcIp, boolean reply) {
        return new Flow(null, 0, verdict, 0, null, new FlowIp(srcIp, "10.0.0.3", "IPv4"),
                new FlowL4("TCP", 40000, 80, List.of()), src, dst, "L3_L4", Flow.TYPE_POLICY_VERDICT, dir, null, "none",
                3, 0, null, null, reply, null);
    }

    private static Flow http(String method, String path, boolean response) {
        return new Flow(null, 0, Flow.FORWARDED, 0, null, new FlowIp("10.0.0.1", "10.0.0.3", "IPv4"),
                new FlowL4("TCP", 40000, 80, List.of()), TIE, DS, "L7", Flow.TYPE_L7, "INGRESS", Flow.TO_PROXY, "L7",
                3, 0, null, null, response,
                new FlowL7(response ? "RESPONSE" : "REQUEST", 0, new FlowHttp(0, method, "http://deathstar" + path + "?x=1", "HTTP/1.1")));
    }

    private void recordDemoTraffic() {
        // each connection: egress at the source (where it is an endpoint), ingress at the destination, one reply
        recorded.add(l4("EGRESS", Flow.FORWARDED, TIE, DS, "10.0.0.1", false));
        recorded.add(l4("INGRESS", Flow.FORWARDED, TIE, DS, "10.0.0.1", false));
        recorded.add(l4("INGRESS", Flow.FORWARDED, DS, TIE, "10.0.0.3", true));
        recorded.add(l4("EGRESS", Flow.FORWARDED, XW, DS, "10.0.0.2", false));
        recorded.add(l4("INGRESS", Flow.FORWARDED, XW, DS, "10.0.0.2", false));
        recorded.add(l4("INGRESS", Flow.FORWARDED, WORLD, DS, "192.0.2.7", false));
        recorded.add(http("POST", "/v1/request-landing", false));
        recorded.add(http("POST", "/v1/request-landing", true));
        recorded.add(http("PUT", "/v1/exhaust-port", false));
    }

    private static ImpactFlow find(ImpactReport r, String source, String method) {
        return r.flows().stream().filter(f -> f.source().equals(source) && java.util.Objects.equals(f.method(), method))
                .findFirst().orElseThrow(() -> new AssertionError("no flow from " + source + " " + method + " in " + r.flows()));
    }

    @Test
    void theDemoPolicyDropsXwingAndTheExhaustPortAndKeepsTheLanding() throws Exception {
        recordDemoTraffic();
        ImpactReport r = analyzer().impact(ENGINE.parse("draft.yaml", L7), null);

        assertEquals(9, r.flowsRead());
        // distinct connections: tiefighter L3/L4, xwing L3/L4, world L3/L4, POST landing, PUT exhaust port
        assertEquals(5, r.flows().size(), r.flows().toString());
        assertEquals(3, r.newlyDropped(), r.flows().toString());
        assertEquals(0, r.newlyAllowed());
        assertEquals(2, r.unchanged());

        ImpactFlow xwing = find(r, "default/xwing", null);
        assertEquals(ImpactReport.ALLOWED, xwing.before());
        assertEquals(ImpactReport.DROPPED, xwing.after());
        assertEquals(ImpactReport.NEWLY_DROPPED, xwing.change());
        assertEquals(2, xwing.count(), "its egress and ingress flows are one connection");
        assertTrue(xwing.afterRule().startsWith("ingress: "), xwing.afterRule());

        ImpactFlow world = find(r, "192.0.2.7", null);
        assertEquals(ImpactReport.NEWLY_DROPPED, world.change());

        ImpactFlow tie = find(r, "default/tiefighter", null);
        assertEquals(ImpactReport.L7, tie.after(), "the path is allowed at L3/L4 and handed to the proxy");
        assertEquals(ImpactReport.UNCHANGED, tie.change());

        ImpactFlow landing = find(r, "default/tiefighter", "POST");
        assertEquals("/v1/request-landing", landing.path());
        assertEquals(1, landing.count(), "the response is not a connection");
        assertEquals(ImpactReport.ALLOWED, landing.after());

        ImpactFlow exhaust = find(r, "default/tiefighter", "PUT");
        assertEquals(ImpactReport.DROPPED, exhaust.after());
        assertEquals(ImpactReport.NEWLY_DROPPED, exhaust.change());

        // changed flows come first
        assertEquals(ImpactReport.NEWLY_DROPPED, r.flows().get(0).change());
        assertEquals(List.of("default/deathstar"), r.endpoints());
    }

    @Test
    void removingADenyingRuleShowsNewlyAllowedFlows() throws Exception {
        inForce = ENGINE.parse("in-force.yaml", L3L4);
        recorded.add(l4("INGRESS", Flow.DROPPED, XW, DS, "10.0.0.2", false));
        String openToAll = L3L4.replace("{matchLabels: {org: empire}}", "{}");
        ImpactReport r = analyzer().impact(ENGINE.parse("draft.yaml", openToAll), null);
        assertEquals(1, r.newlyAllowed(), r.flows().toString());
        ImpactFlow f = r.flows().get(0);
        assertEquals(Flow.DROPPED, f.recorded());
        assertEquals(ImpactReport.DROPPED, f.before());
        assertEquals(ImpactReport.ALLOWED, f.after());
        assertEquals(ImpactReport.NEWLY_ALLOWED, f.change());
    }

    /** A rule naming the port resolves it on the destination (deathstar declares http = 80), as the datapath does. */
    @Test
    void namedPortsResolveOnTheDestination() throws Exception {
        recordDemoTraffic();
        ImpactReport r = analyzer().impact(ENGINE.parse("draft.yaml", L3L4.replace("port: \"80\"", "port: http")), null);
        ImpactFlow tie = find(r, "default/tiefighter", null);
        assertEquals(ImpactReport.ALLOWED, tie.after(), tie.toString());
        assertEquals(ImpactReport.UNCHANGED, tie.change());
        assertEquals(ImpactReport.NEWLY_DROPPED, find(r, "default/xwing", null).change());
    }

    @Test
    void aDraftThatChangesNothingReportsNothingChanged() throws Exception {
        inForce = ENGINE.parse("in-force.yaml", L3L4);
        recordDemoTraffic();
        ImpactReport r = analyzer().impact(ENGINE.parse("same.yaml", L3L4), null);
        assertEquals(0, r.newlyDropped());
        assertEquals(0, r.newlyAllowed());
        assertEquals(r.flows().size(), r.unchanged());
        assertTrue(r.flows().stream().allMatch(f -> f.before().equals(f.after())));
    }

    @Test
    void diffShowsAnAddedPolicyAndTheEndpointItCloses() throws Exception {
        PolicyDiff d = analyzer().diff(ENGINE.parse("draft.yaml", L7));
        assertEquals(1, d.policies().size());
        assertEquals(PolicyDiff.ADDED, d.policies().get(0).change());
        assertEquals("default/rule1", d.policies().get(0).policy());
        assertEquals(1, d.endpoints().size(), d.endpoints().toString());
        PolicyDiff.EndpointChange ds = d.endpoints().get(0);
        assertEquals("default/deathstar", ds.endpoint());
        assertEquals("no -> yes", ds.ingressEnforced());
        assertEquals("no", ds.egressEnforced());
        assertTrue(ds.entriesAdded() > 0);
    }

    @Test
    void diffOfAChangedPolicyShowsTheChangedLines() throws Exception {
        inForce = ENGINE.parse("in-force.yaml", L3L4);
        PolicyDiff d = analyzer().diff(ENGINE.parse("draft.yaml", L7));
        PolicyDiff.PolicyChange c = d.policies().get(0);
        assertEquals(PolicyDiff.CHANGED, c.change());
        assertTrue(c.diff().contains("-    toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]"), c.diff().toString());
        assertTrue(c.diff().contains("+      rules:"), c.diff().toString());
        assertTrue(c.diff().contains("   endpointSelector: {matchLabels: {org: empire, class: deathstar}}"));

        PolicyDiff same = analyzer().diff(ENGINE.parse("same.yaml", L3L4));
        assertEquals(PolicyDiff.UNCHANGED, same.policies().get(0).change());
        assertTrue(same.policies().get(0).diff().isEmpty());
        assertTrue(same.endpoints().isEmpty(), "no endpoint's policy changes");
    }
}
