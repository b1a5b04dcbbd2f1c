package io.septum.view;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowHttp;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import io.septum.api.flow.FlowL7;
import io.septum.api.flow.FlowStats;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The flow lines and stats that {@code observe} prints in the shell and the CLI: Hubble's compact format. */
class FlowViewsTest {
    private static final FlowEndpoint XWING = new FlowEndpoint(4, 258, "default", "xwing",
            List.of("k8s:io.kubernetes.pod.namespace=default", "netns:class=xwing"));
    private static final FlowEndpoint DEATHSTAR = new FlowEndpoint(1, 256, "default", "deathstar-1",
            List.of("k8s:io.kubernetes.pod.namespace=default", "netns:class=deathstar"));
    private static final FlowIp IP = new FlowIp("10.199.16.4", "10.199.16.1", "IPv4");
    private static final FlowL4 SYN = new FlowL4("TCP", 48398, 80, List.of("SYN"));

    @Test
    void compactLinesAreHubbles() {
        Flow d = new Flow(null, 0, Flow.DROPPED, 133, "POLICY_DENIED", IP, SYN, XWING, DEATHSTAR, "L3_L4",
                Flow.TYPE_DROP, "INGRESS", Flow.TO_ENDPOINT, Flow.MATCH_NONE, 1, 0, null, "default deny: no rule allows",
                false, null);
        String line = Views.flow(d);
        assertTrue(line.endsWith(": default/xwing:48398 (ID:258) -> default/deathstar-1:80 (ID:256) "
                + "drop (Policy denied) INGRESS DROPPED (TCP Flags: SYN)"), line);
        Flow v = new Flow(null, 0, Flow.FORWARDED, 0, null, IP, SYN, XWING, DEATHSTAR, "L3_L4",
                Flow.TYPE_POLICY_VERDICT, "INGRESS", Flow.TO_ENDPOINT, Flow.MATCH_L3_L4, 1, 9, "default/rule1",
                "default/rule1 ingress[0]", false, null);
        assertTrue(Views.flow(v).endsWith("policy-verdict:L3-L4 INGRESS ALLOWED (TCP Flags: SYN)"), Views.flow(v));
        assertTrue(Views.flows(List.of(d, v)).render().contains("default deny: no rule allows"));
        FlowStats s = new FlowStats(12, 8192, 1.5, 12, 3, 0, 0, 0, null);
        assertTrue(Views.flowStats(s).contains("Current/Max Flows:  12/8192 (0.15%)"), Views.flowStats(s));
        assertTrue(Views.flowStats(s).contains("Flows/s:            1.50"));
        assertTrue(Views.flowStats(s).contains("Lost events:        3 (datapath)"));
    }

    @Test
    void anHttpFlowShowsItsRequestAndAnswer() {
        Flow f = new Flow(null, 5, Flow.FORWARDED, 0, null, IP, SYN, XWING, DEATHSTAR, "L7", Flow.TYPE_L7,
                "INGRESS", Flow.TO_PROXY, Flow.MATCH_L7, 1, 7, "default/rule1", "default/rule1 ingress[0]", false,
                new FlowL7("RESPONSE", 2_000_000, new FlowHttp(503, "POST", "http://deathstar/v1/request-landing?x=1", "HTTP/1.1")));
        assertEquals("Jan 01 00:00:00.000: default/xwing:48398 (ID:258) -> default/deathstar-1:80 (ID:256) "
                        + "http-response FORWARDED (HTTP/1.1 503 2ms (POST http://deathstar/v1/request-landing?x=1))",
                Views.flow(f).replaceFirst("^\\w+ \\d+ \\d\\d:\\d\\d", "Jan 01 00:00"));
    }

    @Test
    void aStreamedTableShowsItsHeaderOnceAndEachFlowAsItsOwnTableRow() {
        Flow first = new Flow(null, 0, Flow.DROPPED, 133, "POLICY_DENIED", IP, SYN, XWING, DEATHSTAR, "L3_L4",
                Flow.TYPE_DROP, "INGRESS", Flow.TO_ENDPOINT, Flow.MATCH_NONE, 1, 0, null, "default deny: no rule allows",
                false, null);
        Flow second = new Flow(null, 0, Flow.FORWARDED, 0, null, IP, SYN, XWING, DEATHSTAR, "L3_L4",
                Flow.TYPE_POLICY_VERDICT, "INGRESS", Flow.TO_ENDPOINT, Flow.MATCH_L3_L4, 1, 9, "default/rule1",
                "default/rule1 ingress[0]", false, null);
        for (boolean nodes : new boolean[] {false, true}) {
            FlowTableStream stream = new FlowTableStream(nodes);
            List<String> a = stream.lines(first);
            List<String> b = stream.lines(second);
            List<String> c = stream.lines(first);
            assertEquals(List.of(Views.flows(List.of(first), nodes).render().split("\n")), a);
            assertEquals(2, a.size(), a.toString());
            assertTrue(a.get(0).startsWith(nodes ? "NODE   TIMESTAMP" : "TIMESTAMP"), a.get(0));
            assertEquals(List.of(Views.flows(List.of(second), nodes).render().split("\n")[1]), b);
            assertTrue(b.get(0).endsWith("default/rule1 ingress[0]"), b.get(0));
            assertEquals(a.subList(1, 2), c, "later rows come without the header");
        }
    }
}
