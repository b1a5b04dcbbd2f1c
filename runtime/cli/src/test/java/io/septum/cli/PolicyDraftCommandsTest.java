package io.septum.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.flow.ImpactReport;
import io.septum.api.flow.ImpactReport.ImpactFlow;
import io.septum.api.flow.PolicyDiff;
import io.septum.api.flow.PolicyImpact;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicySet;
import io.septum.apiserver.internal.ApiServer;
import io.septum.apiserver.internal.MonitorHub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code policy impact} and {@code policy diff} through the real API server: the draft reaches the service parsed by
 * the real engine, {@code --since} arrives as an instant, an invalid draft is refused with its errors and nothing
 * is asked, and the table and JSON show the service's answer.
 */
class PolicyDraftCommandsTest {
    private static final String DRAFT = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: rule1, namespace: default}
            spec:
              endpointSelector: {matchLabels: {class: deathstar}}
              ingress:
              - fromEndpoints: [{matchLabels: {org: empire}}]
            """;

    @TempDir
    Path dir;
    private Path socket;
    private FakeAgent agent;
    private ApiServer server;
    private final List<PolicySet> drafts = new CopyOnWriteArrayList<>();
    private final List<Instant> sinces = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        socket = dir.resolve("septum.sock");
        agent = new FakeAgent();
        agent.engine = ServiceLoader.load(PolicyEngine.class).findFirst().orElseThrow();
        agent.impact = new PolicyImpact() {
            @Override
            public ImpactReport impact(PolicySet draft, Instant since) {
                drafts.add(draft);
                sinces.add(since);
                return new ImpactReport(since.toString(), 12, false, 1, 0, 1, List.of(
                        new ImpactFlow("default/xwing", "default/deathstar", "TCP", 80, null, null, 4, "FORWARDED",
                                "ALLOWED", "DROPPED", "ingress: no rule selects endpoint (default allow)",
                                "ingress: default deny: no rule allows", "newly-dropped"),
                        new ImpactFlow("default/tiefighter", "default/deathstar", "TCP", 80, "POST", "/v1/request-landing",
                                2, "FORWARDED", "ALLOWED", "ALLOWED", null, "ingress: default/rule1 ingress[0]", "unchanged")),
                        List.of("default/deathstar"));
            }

            @Override
            public PolicyDiff diff(PolicySet draft) {
                drafts.add(draft);
                return new PolicyDiff(List.of(new PolicyDiff.PolicyChange("default/rule1", "CiliumNetworkPolicy", "changed",
                        List.of(" spec:", "-  a", "+  b"))), List.of(new PolicyDiff.EndpointChange("default/deathstar",
                        "no -> yes", "no", 2, 0)));
            }
        };
        server = TestApi.start(socket, agent, new MonitorHub(64, 4), 8);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private Path draft(String text) throws Exception {
        Path f = dir.resolve("draft.yaml");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void impactSendsTheParsedDraftAndTheWindowAndPrintsTheChangedConnections() throws Exception {
        long before = System.currentTimeMillis();
        CliRun r = CliRun.at(socket, "policy", "impact", draft(DRAFT).toString(), "--since", "2h");
        assertEquals(0, r.code(), r.err());
        assertEquals("default/rule1", drafts.get(0).policies().get(0).qualifiedName());
        long after = System.currentTimeMillis();
        // the agent takes "2h ago" from its clock when the request comes, some time between before and after
        long since = sinces.get(0).toEpochMilli();
        assertTrue(since >= before - 2 * 3600_000L - 1000 && since <= after - 2 * 3600_000L + 1000,
                "since 2h before the request, was " + (after - since) + " ms before its end");
        assertTrue(r.out().contains("Distinct connections: 2: newly dropped 1, newly allowed 0, unchanged 1"), r.out());
        assertTrue(r.out().contains("Endpoints the draft selects: default/deathstar"), r.out());
        assertTrue(r.out().contains("newly-dropped") && r.out().contains("default/xwing"), r.out());
        assertTrue(!r.out().contains("/v1/request-landing"), "unchanged connections only with --all\n" + r.out());

        r = CliRun.at(socket, "policy", "impact", draft(DRAFT).toString(), "--all");
        assertTrue(r.out().contains("POST /v1/request-landing"), r.out());
        long dflt = System.currentTimeMillis() - sinces.get(1).toEpochMilli();
        assertTrue(dflt >= 3600_000L - 1000 && dflt <= 3600_000L + 60_000, "the default window is 1h, was " + dflt + " ms");

        r = CliRun.at(socket, "policy", "impact", draft(DRAFT).toString(), "-o", "json");
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(1, j.path("newly_dropped").asInt());
        assertEquals(0, j.path("newly_allowed").asInt());
        assertEquals(1, j.path("unchanged").asInt());
        assertEquals("newly-dropped", j.path("flows").path(0).path("change").asText());
        assertEquals("DROPPED", j.path("flows").path(0).path("after").asText());
        assertTrue(j.path("flows").path(0).path("method").isMissingNode(), "an L3/L4 connection has no method");
        assertEquals("/v1/request-landing", j.path("flows").path(1).path("path").asText());
    }

    @Test
    void anInvalidDraftIsRefusedWithItsErrorsAndNothingIsJudged() throws Exception {
        CliRun r = CliRun.at(socket, "policy", "impact", draft(DRAFT.replace("endpointSelector", "endpointSelectr")).toString());
        assertTrue(r.code() != 0, r.out());
        assertTrue(r.err().contains("endpointSelectr"), r.err());
        r = CliRun.at(socket, "policy", "diff", draft("kind: [").toString());
        assertTrue(r.code() != 0, r.out());
        assertTrue(drafts.isEmpty(), "the service was asked about an invalid draft");
    }

    @Test
    void aBadWindowIsRefused() throws Exception {
        CliRun r = CliRun.at(socket, "policy", "impact", draft(DRAFT).toString(), "--since", "yesterday-ish");
        assertTrue(r.code() != 0, r.out());
        assertTrue(r.err().contains("yesterday-ish"), r.err());
        assertTrue(sinces.isEmpty());
    }

    @Test
    void diffPrintsEachPolicyAndTheEndpointsThatChange() throws Exception {
        CliRun r = CliRun.at(socket, "policy", "diff", draft(DRAFT).toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("changed: CiliumNetworkPolicy default/rule1"), r.out());
        assertTrue(r.out().contains("  -  a") && r.out().contains("  +  b"), r.out());
        assertTrue(r.out().contains("default/deathstar") && r.out().contains("no -> yes"), r.out());
        JsonNode j = new ObjectMapper().readTree(CliRun.at(socket, "policy", "diff", draft(DRAFT).toString(), "-o", "json").out());
        assertEquals("changed", j.path("policies").path(0).path("change").asText());
        assertEquals(2, j.path("endpoints").path(0).path("entries_added").asInt());
        assertEquals("default/rule1", drafts.get(0).policies().get(0).qualifiedName());
    }
}
