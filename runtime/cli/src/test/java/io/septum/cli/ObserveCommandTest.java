package io.septum.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.ComponentStatus;
import io.septum.api.EndpointManager;
import io.septum.api.IdentityAllocator;
import io.septum.api.datapath.Datapath;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowStats;
import io.septum.api.flow.FlowSubscription;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyRepository;
import io.septum.apiserver.internal.ApiServer;
import io.septum.apiserver.internal.Backend;
import io.septum.apiserver.internal.MonitorHub;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code septum observe} against the real API server with a fake flow store. */
class ObserveCommandTest {
    @TempDir
    Path dir;
    private Path socket;
    private ApiServer server;
    private final List<Flow> flows = new ArrayList<>();
    private final List<String> relayQueries = new java.util.concurrent.CopyOnWriteArrayList<>();

    static Flow flow(long t, String verdict, String src, long srcId, String dst, String match) {
        boolean drop = Flow.DROPPED.equals(verdict);
        return new Flow(null, t, verdict, drop ? 133 : 0, drop ? "POLICY_DENIED" : null,
                new FlowIp("10.199.16.4", "10.199.16.1", "IPv4"), new FlowL4("TCP", 43256, 80, List.of("SYN")),
                new FlowEndpoint(4, srcId, "default", src, List.of()), new FlowEndpoint(1, 16530, "default", dst, List.of()),
                "L3_L4", drop ? Flow.TYPE_DROP : Flow.TYPE_POLICY_VERDICT, "INGRESS", Flow.TO_ENDPOINT, match, 1,
                drop ? 0 : 9, drop ? null : "default/rule1", drop ? "default deny: no rule allows" : "default/rule1 ingress[0]",
                false, null);
    }

    @BeforeEach
    void start() throws Exception {
        socket = dir.resolve("septum.sock");
        flows.add(flow(1_000_000_000L, Flow.FORWARDED, "tiefighter", 31028, "deathstar-1", Flow.MATCH_L3_L4));
        flows.add(flow(2_000_000_000L, Flow.DROPPED, "xwing", 258, "deathstar-1", Flow.MATCH_NONE));
        FlowObserver observer = new FlowObserver() {
            @Override
            public List<Flow> query(FlowFilter filter, int last) {
                List<Flow> out = flows.stream().filter(filter::matches).toList();
                return last > 0 && out.size() > last ? out.subList(out.size() - last, out.size()) : out;
            }

            @Override
            public FlowSubscription follow(FlowFilter filter) {
                throw new UnsupportedOperationException();
            }

            @Override
            public FlowStats stats() {
                return new FlowStats(flows.size(), 8192, 0, 2, 0, 0, 0, 0, null);
            }
        };
        Backend backend = new Backend() {
            public EndpointManager endpointManager() { throw Backend.unavailable("the endpoint manager"); }
            public IdentityAllocator identityAllocator() { throw Backend.unavailable("the identity allocator"); }
            public PolicyRepository policyRepository() { throw Backend.unavailable("the policy repository"); }
            public PolicyEngine policyEngine() { throw Backend.unavailable("the policy engine"); }
            public Datapath datapath() { throw Backend.unavailable("the datapath"); }
            public FlowObserver flowObserver() { return observer; }

            /** A relay's answer: node-b's flow, node-c unreachable, node-a's flow (the filters as the relay reads them). */
            @Override
            public io.septum.api.flow.FlowRelay flowRelay() {
                return (query, follow, sink) -> {
                    String verdict = io.septum.api.flow.FlowQuery.parse(query, 0, java.util.Set.of()).filter().verdict();
                    relayQueries.add(query.toString() + " follow=" + follow + " verdict=" + verdict);
                    sink.flow(flows.get(0).withNodeName("node-b"));
                    sink.status(new io.septum.api.flow.FlowNodeStatus("node-c", "unreachable",
                            "cannot connect to 10.0.0.3:4244: Connection refused", "2026-12-06T02:00:00Z"));
                    sink.flow(flows.get(1).withNodeName("node-a"));
                };
            }
            public List<ComponentStatus> health() { return List.of(); }
            public OptionalLong readySince() { return OptionalLong.of(System.currentTimeMillis()); }
            public long startedAt() { return System.currentTimeMillis() - 1000; }
            public String version() { return "test"; }

            @Override
            public io.septum.api.AgentStatusService statusService() {
                return new io.septum.status.internal.StatusAssembler(new io.septum.status.internal.StatusAssembler.Sources() {
                    public PolicyRepository policyRepository() { return null; }
                    public EndpointManager endpointManager() { return null; }
                    public IdentityAllocator identityAllocator() { return null; }
                    public boolean datapathRunning() { return false; }
                    public FlowObserver flowObserver() { return observer; }
                    public List<io.septum.api.HealthReporter> healthReporters() { return List.of(); }
                    public OptionalLong readySince() { return OptionalLong.of(System.currentTimeMillis()); }
                    public long startedAt() { return System.currentTimeMillis() - 1000; }
                    public String version() { return "test"; }
                });
            }
        };
        server = TestApi.start(socket, backend, new MonitorHub(4, 1), 4);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void compactIsTheDefaultAndReadsAsHubble() {
        CliRun r = CliRun.at(socket, "observe");
        assertEquals(0, r.code(), r.toString());
        String[] lines = r.out().split("\n");
        assertEquals(2, lines.length, r.toString());
        assertTrue(lines[0].endsWith(": default/tiefighter:43256 (ID:31028) -> default/deathstar-1:80 (ID:16530) "
                + "policy-verdict:L3-L4 INGRESS ALLOWED (TCP Flags: SYN)"), lines[0]);
        assertTrue(lines[1].endsWith(": default/xwing:43256 (ID:258) -> default/deathstar-1:80 (ID:16530) "
                + "drop (Policy denied) INGRESS DROPPED (TCP Flags: SYN)"), lines[1]);
    }

    @Test
    void jsonIsOneFlowPerLineAndFiltersReachTheAgent() throws Exception {
        CliRun r = CliRun.at(socket, "observe", "--verdict", "DROPPED", "--from-endpoint", "xwing",
                "--to-label", "class=x,org=y", "--since", "2026-01-01T00:00:00Z", "-o", "json");
        assertEquals(0, r.code(), r.toString());
        assertEquals("", r.out(), "no flow since 2026");
        r = CliRun.at(socket, "observe", "--verdict", "DROPPED", "--from-endpoint", "xwing", "--last", "5", "-o", "json");
        assertEquals(0, r.code(), r.toString());
        String[] lines = r.out().strip().split("\n");
        assertEquals(1, lines.length, r.toString());
        Flow f = new ObjectMapper().readValue(lines[0], Flow.class);
        assertEquals("default/xwing", f.source().qualifiedName());
        assertEquals("POLICY_DENIED", f.dropReasonDesc());
    }

    @Test
    void clusterPrintsEveryNodesFlowsWithTheirNodeAndTheNodesThatCannotBeRead() {
        CliRun r = CliRun.at(socket, "observe", "--cluster", "--verdict", "DROPPED");
        assertEquals(0, r.code(), r.toString());
        String[] lines = r.out().split("\n");
        assertEquals(3, lines.length, r.toString());
        assertTrue(lines[0].matches("\\w{3} \\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3} \\[node-b\\]: default/tiefighter:43256 .*"), lines[0]);
        assertTrue(lines[1].endsWith(" [node-c]: node unreachable: cannot connect to 10.0.0.3:4244: Connection refused"), lines[1]);
        assertTrue(lines[2].contains(" [node-a]: default/xwing:43256 "), lines[2]);
        assertEquals(List.of("{last=[20], verdict=[DROPPED]} follow=false verdict=DROPPED"), relayQueries);

        r = CliRun.at(socket, "observe", "--cluster", "-o", "json");
        assertEquals(0, r.code(), r.toString());
        lines = r.out().split("\n");
        assertTrue(lines[0].contains("\"node_name\":\"node-b\""), lines[0]);
        assertTrue(lines[1].startsWith("{\"node_status\":{\"node_name\":\"node-c\",\"state\":\"unreachable\""), lines[1]);

        r = CliRun.at(socket, "observe", "--cluster", "-o", "table");
        lines = r.out().split("\n");
        assertEquals(4, lines.length, r.toString());
        assertTrue(lines[0].startsWith("NODE "), r.toString());
        assertTrue(lines[1].startsWith("node-b ") && lines[1].endsWith(" default/rule1 ingress[0]"), lines[1]);
        assertTrue(lines[2].endsWith(" [node-c]: node unreachable: cannot connect to 10.0.0.3:4244: Connection refused"), lines[2]);
        assertTrue(lines[3].startsWith("node-a ") && lines[3].endsWith(" default deny: no rule allows"), lines[3]);
    }

    @Test
    void tableNamesTheRule() {
        CliRun r = CliRun.at(socket, "observe", "-o", "table", "--last", "0");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().startsWith("TIMESTAMP"), r.out());
        assertTrue(r.out().contains("default/rule1 ingress[0]"), r.out());
        assertTrue(r.out().contains("default deny: no rule allows"), r.out());
    }

    @Test
    void badInputIsExit2WithTheChoices() {
        CliRun r = CliRun.at(socket, "observe", "--type", "dropped");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("policy-verdict"), r.toString());
        r = CliRun.at(socket, "observe", "-o", "yaml");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("compact, json or table"), r.toString());
    }

    @Test
    void statusShowsTheFlowFigures() {
        CliRun r = CliRun.at(socket, "status");
        assertTrue(r.out().contains("Current/Max Flows:  2/8192 (0.02%)"), r.toString());
        assertTrue(r.out().contains("Flows/s:"), r.toString());
        assertTrue(r.out().contains("Lost events:"), r.toString());
    }
}
