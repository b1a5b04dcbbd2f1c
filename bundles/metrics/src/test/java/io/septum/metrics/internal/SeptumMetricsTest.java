package io.septum.metrics.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Endpoint;
import io.septum.api.EndpointState;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowStats;
import io.septum.api.policy.PolicyRuleHits;
import io.septum.api.policy.RuleRef;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class SeptumMetricsTest {
    private static Flow flow(String type, String verdict, int reason, String reasonDesc, String dir, String match) {
        return new Flow(null, 0, verdict, reason, reasonDesc, null, null, null, null, "L3_L4", type, dir, null,
                match, 1, 0, null, null, false, null);
    }

    @Test
    void servesEveryMetricInPrometheusTextFormat() throws IOException {
        SeptumMetrics m = new SeptumMetrics(new SeptumMetrics.Sources() {
            @Override
            public List<PolicyRuleHits> ruleHits() {
                return List.of(new PolicyRuleHits(new RuleRef(77, "default/rule1", "ingress", 0, false), 5),
                        new PolicyRuleHits(new RuleRef(78, "default/rule1", "ingress", 1, false), 0));
            }

            @Override
            public List<Endpoint> endpoints() {
                return List.of(new Endpoint(1, "a", "default", "netns", List.of(), 256, EndpointState.READY, List.of(),
                        null, 0, null, false, false, null, 1, null));
            }

            @Override
            public FlowStats flowStats() {
                return new FlowStats(0, 8192, 0, 0, 3, 1, 0, 0, null);
            }
        });
        m.record(flow("policy-verdict", "FORWARDED", 0, null, "INGRESS", "L3-L4"));
        m.record(flow("drop", "DROPPED", 133, "POLICY_DENIED", "INGRESS", "none"));
        m.record(flow("policy-verdict", "AUDIT", 133, null, "EGRESS", "none"));
        m.realized(42_000_000L);
        MetricsHttpServer server = MetricsHttpServer.start(m.registry(),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        try {
            HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + server.port() + "/metrics").openConnection();
            String body;
            try (InputStream in = c.getInputStream()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            assertEquals(200, c.getResponseCode());
            assertTrue(c.getContentType().startsWith("text/plain"), c.getContentType());
            for (String sample : List.of(
                    "septum_policy_verdicts_total{action=\"allowed\",direction=\"ingress\",match=\"L3-L4\"} 1.0",
                    "septum_policy_verdicts_total{action=\"denied\",direction=\"ingress\",match=\"none\"} 1.0",
                    "septum_policy_verdicts_total{action=\"audit\",direction=\"egress\",match=\"none\"} 1.0",
                    "septum_drops_total{reason=\"POLICY_DENIED\"} 1.0",
                    "septum_flows_processed_total{type=\"drop\",verdict=\"DROPPED\"} 1.0",
                    "septum_policy_rule_hits_total{namespace=\"default\",policy=\"rule1\",rule=\"ingress[0]\",rule_id=\"77\"} 5.0",
                    "septum_policy_rule_hits_total{namespace=\"default\",policy=\"rule1\",rule=\"ingress[1]\",rule_id=\"78\"} 0.0",
                    "septum_endpoints{source=\"netns\",state=\"ready\"} 1",
                    "septum_endpoints{source=\"netns\",state=\"disconnected\"} 0",
                    "septum_lost_events_total{where=\"datapath\"} 3.0",
                    "septum_policy_realization_seconds_bucket{le=\"0.05\"} 1",
                    "septum_policy_realization_seconds_bucket{le=\"0.025\"} 0")) {
                assertTrue(body.contains(sample), sample + " in\n" + body);
            }
        } finally {
            server.close();
        }
    }

    @Test
    void onlyLoopbackAddressesAreServed() {
        assertNull(MetricsComponent.checkAddress("127.0.0.1", 9962));
        assertNull(MetricsComponent.checkAddress("::1", 9962));
        assertNull(MetricsComponent.checkAddress("127.0.0.2", 1));
        String bad = MetricsComponent.checkAddress("0.0.0.0", 9962);
        assertNotNull(bad);
        assertTrue(bad.contains("not a loopback address"), bad);
        assertTrue(MetricsComponent.checkAddress("10.1.2.3", 9962).contains("10.1.2.3"));
        assertTrue(MetricsComponent.checkAddress("localhost", 9962).contains("not an IP address"));
        assertTrue(MetricsComponent.checkAddress("127.0.0.1", 70000).contains("70000"));
    }
}
