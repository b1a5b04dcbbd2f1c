package io.septum.api.flow;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class FlowFilterTest {
    static final FlowEndpoint XWING = new FlowEndpoint(4, 258, "default", "xwing",
            List.of("k8s:io.kubernetes.pod.namespace=default", "netns:class=xwing", "netns:org=alliance"));
    static final FlowEndpoint DEATHSTAR = new FlowEndpoint(1, 256, "default", "deathstar-1",
            List.of("k8s:io.kubernetes.pod.namespace=default", "netns:class=deathstar", "netns:org=empire"));

    static Flow drop(long nanos) {
        return new Flow(null, nanos, Flow.DROPPED, 133, "POLICY_DENIED", new FlowIp("10.199.16.4", "10.199.16.1", "IPv4"),
                new FlowL4("TCP", 48398, 80, List.of("SYN")), XWING, DEATHSTAR, "L3_L4", Flow.TYPE_DROP, "INGRESS",
                Flow.TO_ENDPOINT, Flow.MATCH_NONE, 1, 0, null, "default deny: no rule allows", false, null);
    }

    static FlowFilter.Builder b() {
        return FlowFilter.builder();
    }

    @Test
    void everyFieldSelects() {
        Flow f = drop(1_000);
        assertTrue(FlowFilter.ALL.matches(f));
        assertTrue(b().fromEndpoint("xwing").toEndpoint("default/deathstar-1").build().matches(f));
        assertTrue(b().fromEndpoint("4").build().matches(f));
        assertFalse(b().fromEndpoint("deathstar-1").build().matches(f));
        assertFalse(b().toEndpoint("other/deathstar-1").build().matches(f));
        assertTrue(b().fromLabel(List.of("org=alliance")).toLabel(List.of("netns:class=deathstar")).build().matches(f));
        assertFalse(b().fromLabel(List.of("org=empire")).build().matches(f));
        assertFalse(b().fromLabel(List.of("k8s:org=alliance")).build().matches(f));
        assertTrue(b().fromIp("10.199.16.4").toIp("10.199.0.0/16").build().matches(f));
        assertFalse(b().fromIp("10.198.0.0/16").build().matches(f));
        assertTrue(b().namespace("default").build().matches(f));
        assertFalse(b().namespace("kube-system").build().matches(f));
        assertTrue(b().verdict("dropped").type("drop").protocol("tcp").port(80).build().matches(f));
        assertFalse(b().verdict("FORWARDED").build().matches(f));
        assertFalse(b().type("policy-verdict").build().matches(f));
        assertFalse(b().protocol("UDP").build().matches(f));
        assertTrue(b().port(48398).build().matches(f));
        assertFalse(b().port(443).build().matches(f));
        assertTrue(b().since(1_000L).until(1_000L).build().matches(f));
        assertFalse(b().since(1_001L).build().matches(f));
        assertFalse(b().until(999L).build().matches(f));
        assertFalse(b().httpMethod("GET").build().matches(f), "an L3/L4 flow has no HTTP method");
    }

    @Test
    void httpFields() {
        Flow d = drop(5);
        Flow f = new Flow(null, 5, Flow.FORWARDED, 0, null, d.ip(), d.l4(), XWING, DEATHSTAR, "L7", Flow.TYPE_L7,
                "INGRESS", Flow.TO_PROXY, Flow.MATCH_L7, 1, 7, "default/rule1", "default/rule1 ingress[0]", false,
                new FlowL7("RESPONSE", 2_000_000, new FlowHttp(503, "POST", "http://deathstar/v1/request-landing?x=1", "HTTP/1.1")));
        assertTrue(b().httpMethod("post").httpPath("/v1/").httpStatus("5+").build().matches(f));
        assertTrue(b().httpStatus("503").build().matches(f));
        assertFalse(b().httpStatus("4+").build().matches(f));
        assertFalse(b().httpPath("/v2").build().matches(f));
    }

    @Test
    void badValuesAreRefusedWithTheChoices() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b().type("dropped").build()).getMessage().contains("policy-verdict"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b().verdict("ALLOWED").build()).getMessage().contains("FORWARDED"));
        assertThrows(IllegalArgumentException.class, () -> b().fromIp("deathstar").build());
        assertThrows(IllegalArgumentException.class, () -> b().toIp("10.0.0.0/33").build());
        assertThrows(IllegalArgumentException.class, () -> b().port(70000).build());
        assertThrows(IllegalArgumentException.class, () -> b().httpStatus("abc").build());
    }
}
