package io.septum.observer.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Endpoint;
import io.septum.api.EndpointState;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowStats;
import io.septum.api.flow.FlowSubscription;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SuggesterTest {
    private static final List<String> WEB = List.of("k8s:io.kubernetes.pod.namespace=shop", "k8s:app=web",
            "k8s:pod-template-hash=5d8f9c", "k8s:io.cilium.k8s.namespace.labels.team=a");
    private static final List<String> DB = List.of("k8s:io.kubernetes.pod.namespace=shop", "k8s:app=db",
            "k8s:statefulset.kubernetes.io/pod-name=db-0");
    private static final Endpoint EP = new Endpoint(7, "web", "shop", "netns", WEB, 300, EndpointState.READY, List.of(),
            null, 0, null, true, true, null, 1, null);

    private static Flow flow(String dir, String verdict, FlowEndpoint src, FlowEndpoint dst, String srcIp, String dstIp,
                             String proto, int dport, boolean reply) {
        return new Flow(null, 0, verdict, 0, null, new FlowIp(srcIp, dstIp, "IPv4"), new FlowL4(proto, 40000, dport, List.of()),
                src, dst, "L3_L4", Flow.TYPE_POLICY_VERDICT, dir, null, "none", 7, 0, null, null, reply, null);
    }

    /** An in-memory flow store that answers queries from {@code flows}. */
    static FlowObserver store(List<Flow> flows) {
        return new FlowObserver() {
            @Override
            public List<Flow> query(FlowFilter filter, int last) {
                return flows.stream().filter(filter::matches).toList();
            }

            @Override
            public FlowSubscription follow(FlowFilter filter) {
                throw new UnsupportedOperationException();
            }

            @Override
            public FlowStats stats() {
                return null;
            }
        };
    }

    @SuppressWarnings("unchecked")
    @Test
    void writesExactlyTheObservedConnectionsWithStableSelectors() {
        FlowEndpoint web = new FlowEndpoint(7, 300, "shop", "web", WEB);
        FlowEndpoint db = new FlowEndpoint(8, 301, "shop", "db", DB);
        FlowEndpoint world = new FlowEndpoint(0, 2, null, null, List.of("reserved:world"));
        List<Flow> flows = List.of(
                flow("EGRESS", "FORWARDED", web, db, "10.0.0.7", "10.0.0.8", "TCP", 5432, false),
                flow("EGRESS", "AUDIT", web, db, "10.0.0.7", "10.0.0.8", "TCP", 5433, false),
                flow("EGRESS", "DROPPED", web, db, "10.0.0.7", "10.0.0.8", "TCP", 22, false),
                flow("INGRESS", "FORWARDED", world, web, "192.0.2.9", "10.0.0.7", "TCP", 443, false),
                flow("INGRESS", "FORWARDED", world, web, "192.0.2.9", "10.0.0.7", "ICMP", 8, false),
                flow("INGRESS", "FORWARDED", world, web, "192.0.2.9", "10.0.0.7", "IGMP", 0, false));
        Map<String, Object> doc = new Suggester(store(flows), q -> Optional.of(EP)).suggest("web", null);
        assertEquals("suggested-web", ((Map<String, Object>) doc.get("metadata")).get("name"));
        Map<String, Object> spec = (Map<String, Object>) doc.get("spec");
        assertEquals(Map.of("matchLabels", Map.of("k8s:app", "web")), spec.get("endpointSelector"));
        List<Map<String, Object>> egress = (List<Map<String, Object>>) spec.get("egress");
        assertEquals(1, egress.size(), egress.toString());
        assertEquals(List.of(Map.of("matchLabels", Map.of("k8s:app", "db", "k8s:io.kubernetes.pod.namespace", "shop"))),
                egress.get(0).get("toEndpoints"));
        String ports = egress.get(0).get("toPorts").toString();
        assertTrue(ports.contains("port=5432") && ports.contains("port=5433") && !ports.contains("port=22"), ports);
        List<Map<String, Object>> ingress = (List<Map<String, Object>>) spec.get("ingress");
        assertEquals(List.of("192.0.2.9/32"), ingress.get(0).get("fromCIDR"));
        // ICMP gets a rule of its own (icmps cannot share a rule with toPorts) naming the type seen
        assertEquals(2, ingress.size(), ingress.toString());
        assertEquals(List.of("192.0.2.9/32"), ingress.get(1).get("fromCIDR"));
        assertEquals(List.of(Map.of("fields", List.of(Map.of("type", 8, "family", "IPv4")))), ingress.get(1).get("icmps"));
        String skipped = ((Map<String, Map<String, String>>) doc.get("metadata")).get("annotations")
                .get("policy.septum.io/suggest-skipped");
        assertTrue(skipped.contains("IGMP") && !skipped.contains("ICMP"), skipped);
    }

    @SuppressWarnings("unchecked")
    @Test
    void aDirectionWithNothingObservedIsEnforcedWithAnEmptyRule() {
        FlowEndpoint web = new FlowEndpoint(7, 300, "shop", "web", WEB);
        FlowEndpoint host = new FlowEndpoint(0, 1, null, null, List.of("reserved:host"));
        Map<String, Object> doc = new Suggester(store(List.of(
                flow("INGRESS", "FORWARDED", host, web, "10.0.0.1", "10.0.0.7", "UDP", 53, false))),
                q -> Optional.of(EP)).suggest("web", null);
        Map<String, Object> spec = (Map<String, Object>) doc.get("spec");
        assertEquals(List.of(Map.of()), spec.get("egress"));
        assertEquals(List.of("host"), ((List<Map<String, Object>>) spec.get("ingress")).get(0).get("fromEntities"));
    }

    @Test
    void nothingObservedIsAnError() {
        assertThrows(IllegalStateException.class, () -> new Suggester(store(List.of()), q -> Optional.of(EP)).suggest("web", null));
        assertThrows(java.util.NoSuchElementException.class,
                () -> new Suggester(store(List.of()), q -> Optional.empty()).suggest("nope", null));
    }

    private static Flow request(String verdict, FlowEndpoint src, FlowEndpoint dst, String method, String url) {
        return new Flow(null, 0, verdict, 0, null, new FlowIp("10.0.0.9", "10.0.0.7", "IPv4"), new FlowL4("TCP", 40000, 80, List.of()),
                src, dst, "L7", Flow.TYPE_L7, "INGRESS", Flow.TO_PROXY, Flow.MATCH_L7, 7, 0, null, null, false,
                new io.septum.api.flow.FlowL7("REQUEST", 0, new io.septum.api.flow.FlowHttp(0, method, url, "HTTP/1.1")));
    }

    @SuppressWarnings("unchecked")
    @Test
    void httpRequestsTheProxyForwardedBecomeHttpRulesOnTheirPortOnly() throws Exception {
        FlowEndpoint web = new FlowEndpoint(7, 300, "shop", "web", WEB);
        FlowEndpoint crawler = new FlowEndpoint(9, 302, "shop", "crawler", List.of("k8s:io.kubernetes.pod.namespace=shop", "k8s:app=crawler"));
        List<Flow> flows = List.of(
                flow("INGRESS", "REDIRECTED", crawler, web, "10.0.0.9", "10.0.0.7", "TCP", 80, false),
                flow("INGRESS", "FORWARDED", crawler, web, "10.0.0.9", "10.0.0.7", "TCP", 443, false),
                request("FORWARDED", crawler, web, "GET", "http://10.0.0.7/v1/items?page=2"),
                request("FORWARDED", crawler, web, "GET", "http://10.0.0.7/v1/items"),
                request("FORWARDED", crawler, web, "POST", "http://web.shop/v1/a.b(c)"),
                request("DROPPED", crawler, web, "DELETE", "http://10.0.0.7/v1/items"));
        Map<String, Object> doc = new Suggester(store(flows), q -> Optional.of(EP)).suggest("web", null);
        List<Map<String, Object>> ingress = (List<Map<String, Object>>) ((Map<String, Object>) doc.get("spec")).get("ingress");
        assertEquals(1, ingress.size(), ingress.toString());
        List<Map<String, Object>> toPorts = (List<Map<String, Object>>) ingress.get(0).get("toPorts");
        assertEquals(List.of(Map.of("port", "443", "protocol", "TCP")), toPorts.get(0).get("ports"), toPorts.toString());
        assertEquals(List.of(Map.of("port", "80", "protocol", "TCP")), toPorts.get(1).get("ports"), toPorts.toString());
        assertEquals(Map.of("http", List.of(Map.of("method", "GET", "path", "^/v1/items$"),
                Map.of("method", "POST", "path", "^/v1/a\\.b\\(c\\)$"))), toPorts.get(1).get("rules"),
                "forwarded requests only, the query left out, the path quoted");

        // the draft is a policy the engine takes, and it admits exactly those requests
        String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(doc);
        io.septum.api.policy.PolicySet set = java.util.ServiceLoader.load(io.septum.api.policy.PolicyEngine.class)
                .findFirst().orElseThrow().parse("suggested", json);
        io.septum.api.Labels from = io.septum.api.Labels.forTrace(List.of("k8s:app=crawler", "k8s:io.kubernetes.pod.namespace=shop"));
        io.septum.api.Labels to = io.septum.api.Labels.forTrace(List.of("k8s:app=web", "k8s:io.kubernetes.pod.namespace=shop"));
        io.septum.api.policy.EnforcementMode mode = io.septum.api.policy.EnforcementMode.DEFAULT;
        assertTrue(set.trace(from, to, 80, io.septum.api.policy.Protocol.TCP, mode,
                io.septum.api.policy.HttpRequestInfo.of("POST", "/v1/a.b(c)")).allowed());
        assertTrue(!set.trace(from, to, 80, io.septum.api.policy.Protocol.TCP, mode,
                io.septum.api.policy.HttpRequestInfo.of("POST", "/v1/aXb(c)")).allowed(), "the dot is literal");
        assertTrue(!set.trace(from, to, 80, io.septum.api.policy.Protocol.TCP, mode,
                io.septum.api.policy.HttpRequestInfo.of("DELETE", "/v1/items")).allowed(), "refused requests stay out");
    }
}
