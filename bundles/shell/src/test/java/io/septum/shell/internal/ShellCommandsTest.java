package io.septum.shell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.AgentStatus;
import io.septum.api.AgentStatusService;
import io.septum.api.ComponentStatus;
import io.septum.api.Endpoint;
import io.septum.api.EndpointManager;
import io.septum.api.EndpointSpec;
import io.septum.api.EndpointState;
import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.IpcacheEntry;
import io.septum.api.Labels;
import io.septum.api.SourceHealth;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.datapath.DatapathStats;
import io.septum.api.policy.CaseResult;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.ProbeResult;
import io.septum.api.policy.TestCase;
import io.septum.api.policy.ValidationError;
import io.septum.testsupport.RecordingPolicyHistory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.LongAdder;
import org.apache.felix.gogo.runtime.CommandProcessorImpl;
import org.apache.felix.gogo.runtime.threadio.ThreadIOImpl;
import org.apache.felix.service.command.CommandSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands in a real Gogo command processor, as the console runs them: scopes, functions, {@code @Parameter}
 * flags, argument coercion and output through the session's {@code System.out}.
 */
class ShellCommandsTest {
    @TempDir
    Path dir;
    private ThreadIOImpl tio;
    private CommandProcessorImpl processor;
    private CommandSession session;
    private ByteArrayOutputStream out;
    private final ObjectMapper json = new ObjectMapper();

    private final List<Endpoint> endpoints = new ArrayList<>();
    private final Map<String, Map<String, String>> namespaces = new LinkedHashMap<>();
    private final List<PolicyInfo> policies = new ArrayList<>();
    private final List<String> added = new ArrayList<>();
    private final List<Labels> traced = new ArrayList<>();
    private final EndpointCommands endpointCommands = new EndpointCommands();
    private final PolicyCommands policyCommands = new PolicyCommands();
    private final BpfCommands bpfCommands = new BpfCommands();
    private final StatusCommand statusCommand = new StatusCommand();
    private final ObserveCommand observe = new ObserveCommand();
    private final List<String> clusterCalls = new ArrayList<>();
    private final List<io.septum.api.flow.Flow> flows = List.of(new io.septum.api.flow.Flow(null, 5, "DROPPED", 133,
            "POLICY_DENIED", new io.septum.api.flow.FlowIp("10.199.0.8", "10.199.0.7", "IPv4"),
            new io.septum.api.flow.FlowL4("TCP", 4000, 80, List.of("SYN")),
            new io.septum.api.flow.FlowEndpoint(8, 308, "default", "xwing", List.of("netns:app=xwing")),
            new io.septum.api.flow.FlowEndpoint(7, 307, "default", "deathstar", List.of()), "L3_L4", "drop", "INGRESS",
            "TO_ENDPOINT", "none", 7, 0, null, "default deny: no rule allows", false, null));
    private final List<io.septum.api.flow.FlowFilter> observed = new ArrayList<>();
    private final List<io.septum.api.service.Service> services = new ArrayList<>();

    static Endpoint endpoint(long id, String name, String ns) {
        return new Endpoint(id, name, ns, "netns", List.of("k8s:io.kubernetes.pod.namespace=" + ns, "netns:app=" + name),
                300 + id, EndpointState.READY, List.of("10.199.0." + id), "sept-t" + id, 100, "sept-t" + id, true, false,
                Map.of(), 1, null);
    }

    @BeforeEach
    void setUp() throws Exception {
        endpoints.add(endpoint(7, "deathstar", "default"));
        endpoints.add(endpoint(8, "xwing", "default"));
        policies.add(new PolicyInfo("rule1", "default", "CiliumNetworkPolicy", 2, "sw.yaml", List.of(), List.of(), "kind: x"));
        policies.add(new PolicyInfo("rule1", "prod", "CiliumNetworkPolicy", 3, "sw.yaml", List.of(), List.of(), "kind: x"));

        EndpointManager em = fake(EndpointManager.class, (m, a) -> switch (m) {
            case "list" -> List.copyOf(endpoints);
            case "get" -> endpoints.stream().filter(e -> e.qualifiedName().equals(a[0]) || String.valueOf(e.id()).equals(a[0])
                    || e.name().equals(a[0])).findFirst();
            case "add" -> {
                EndpointSpec s = (EndpointSpec) a[1];
                added.add(a[0] + " " + s.sourceId() + " " + s.namespace() + " " + s.netns() + " " + s.interfaceName() + " " + new java.util.TreeMap<>(s.labels()));
                endpoints.add(endpoint(20, s.name(), s.namespace() == null ? "default" : s.namespace()));
                yield null;
            }
            case "delete" -> {
                endpoints.removeIf(e -> String.valueOf(e.id()).equals(a[0]));
                yield null;
            }
            case "namespaceLabels" -> Map.copyOf(namespaces);
            case "setNamespaceLabels" -> {
                @SuppressWarnings("unchecked") Map<String, String> l = (Map<String, String>) a[1];
                namespaces.put((String) a[0], l);
                yield null;
            }
            case "sources" -> List.of(new SourceHealth("netns", true, 0, null));
            case "ipcache" -> List.<IpcacheEntry>of();
            default -> throw new UnsupportedOperationException(m);
        });
        PolicySet set = fake(PolicySet.class, (m, a) -> switch (m) {
            case "trace" -> {
                traced.add((Labels) a[0]);
                traced.add((Labels) a[1]);
                yield new io.septum.api.policy.TraceResult(List.of(), List.of(), (int) a[2], a[3].toString(),
                        null, null, true, List.of("traced " + a[0] + " -> " + a[1] + " " + a[2] + "/" + a[3]));
            }
            default -> throw new UnsupportedOperationException(m);
        });
        PolicyRepository repo = fake(PolicyRepository.class, (m, a) -> switch (m) {
            case "list" -> List.copyOf(policies);
            case "get" -> policies.stream().filter(p -> p.namespace().equals(a[0]) && p.name().equals(a[1])).findFirst();
            case "delete" -> {
                policies.removeIf(p -> p.namespace().equals(a[0]) && p.name().equals(a[1]));
                yield 9L;
            }
            case "importPolicies" -> {
                if (((String) a[1]).contains("bad")) {
                    throw new PolicyValidationException(List.of(new ValidationError((String) a[0], 1, null, "default/x",
                            "spec.ingress", "bad rule")));
                }
                yield new ImportResult(5, List.of("default/a", "default/b"));
            }
            case "current" -> set;
            case "mode" -> EnforcementMode.DEFAULT;
            case "revision" -> 5L;
            case "rejected" -> List.of();
            default -> throw new UnsupportedOperationException(m);
        });
        PolicyEngine engine = fake(PolicyEngine.class, (m, a) -> switch (m) {
            case "parse" -> {
                if (((String) a[1]).contains("bad")) {
                    throw new PolicyValidationException(List.of(new ValidationError((String) a[0], 2, "CiliumNetworkPolicy",
                            "default/x", "spec.ingress[0].toPorts[0].ports[0].port", "port 99999 is out of range")));
                }
                yield fake(PolicySet.class, (m2, a2) -> List.of());
            }
            case "parseCase" -> new TestCase("c1", null, null, null, null, null, null);
            case "evaluate" -> CaseResult.of("c1", List.of(
                    new ProbeResult("a", "b", 80, "TCP", "allow", "allow", "default/r ingress[0]", true, null),
                    new ProbeResult("b", "a", 80, "TCP", "deny", a[1] == EnforcementMode.NEVER ? "allow" : "deny",
                            "default deny", a[1] != EnforcementMode.NEVER, null)));
            default -> throw new UnsupportedOperationException(m);
        });
        IdentityAllocator ids = fake(IdentityAllocator.class, (m, a) -> switch (m) {
            case "list" -> List.of(new Identity(1, List.of("reserved:host"), true));
            case "get" -> Optional.<Identity>empty();
            default -> throw new UnsupportedOperationException(m);
        });
        Datapath dp = fake(Datapath.class, (m, a) -> switch (m) {
            case "endpoints" -> List.of(new BpfEndpoint(100, 7, 307, 3, "sept-t7"));
            case "policy" -> (long) a[0] == 7 ? List.of(new BpfPolicyEntry("INGRESS", 0, "TCP", "80", "ALLOW", 1, 3)) : List.of();
            case "ipcache" -> List.of(new IpcacheEntry("10.199.0.7/32", 307, "endpoint"));
            default -> throw new UnsupportedOperationException(m);
        });

        endpointCommands.endpoints = em;
        policyCommands.repository = repo;
        policyCommands.engine = engine;
        bpfCommands.datapath = dp;
        bpfCommands.endpoints = em;
        // the API server assembles the status; the command prints what its service answers
        AgentStatusService status = () -> new AgentStatus("0.1.0-test", true, 5000, 4000, "default", 5, endpoints.size(), 1,
                List.of(ComponentStatus.failed("datapath", "not running"), ComponentStatus.ok("api-server", "listening")),
                List.of(new SourceHealth("netns", true, 0, null)));
        statusCommand.statusService = status;
        NamespaceCommands ns = new NamespaceCommands();
        ns.endpoints = em;
        IdentityCommands ic = new IdentityCommands();
        ic.identities = ids;

        tio = new ThreadIOImpl();
        tio.start();
        processor = new CommandProcessorImpl(tio);
        register(endpointCommands, "endpoint", "list", "get", "add", "delete");
        register(policyCommands, "policy", "import", "list", "get", "delete", "validate", "eval", "trace");
        register(bpfCommands, "bpf", "endpoint", "policy", "ipcache");
        register(statusCommand, "septum", "status");
        register(ns, "namespace", "list", "set");
        register(ic, "identity", "list", "get");
        observe.observer = fake(io.septum.api.flow.FlowObserver.class, (m, a) -> switch (m) {
            case "query" -> {
                observed.add((io.septum.api.flow.FlowFilter) a[0]);
                yield flows.stream().filter(((io.septum.api.flow.FlowFilter) a[0])::matches).toList();
            }
            default -> throw new UnsupportedOperationException(m);
        });
        register(observe, "septum", "observe");
        ServiceCommands sc = new ServiceCommands();
        sc.services = fake(io.septum.api.service.ServiceManager.class, (m, a) -> switch (m) {
            case "list" -> List.copyOf(services);
            case "get" -> services.stream().filter(x -> x.name().equals(a[0]) || Long.toString(x.id()).equals(a[0])).findFirst();
            case "upsert" -> {
                io.septum.api.service.ServiceSpec spec = (io.septum.api.service.ServiceSpec) a[0];
                if (!spec.frontend().contains(":")) {
                    throw new io.septum.api.service.ServiceValidationException("service default/" + spec.name()
                            + ": field frontend: \"" + spec.frontend() + "\" has no port (expected IP:PORT)");
                }
                List<io.septum.api.service.ServiceBackend> bs = new ArrayList<>();
                for (String t : spec.backends()) bs.add(new io.septum.api.service.ServiceBackend(t, 80, "10.199.0.7", "active", null));
                io.septum.api.service.Service sv = new io.septum.api.service.Service(services.size() + 1, spec.name(), "default",
                        spec.frontend().split(":")[0], 80, "TCP", "ClusterIP", bs, "api");
                services.add(sv);
                yield sv;
            }
            case "delete" -> services.removeIf(x -> x.name().equals(a[0]));
            default -> throw new UnsupportedOperationException(m);
        });
        register(sc, "service", "list", "get", "add", "delete");
        out = new ByteArrayOutputStream();
        session = processor.createSession(new ByteArrayInputStream(new byte[0]), out, out);
        session.currentDir(dir);
    }

    private void register(Object target, String scope, String... functions) {
        for (String f : functions) processor.addCommand(scope, target, f);
    }

    @AfterEach
    void tearDown() {
        session.close();
        processor.stop();
        tio.stop();
    }

    @SuppressWarnings("unchecked")
    static <T> T fake(Class<T> type, Answer answer) {
        return (T) Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (p, m, a) -> {
            if (m.getName().equals("toString")) return "fake " + type.getSimpleName();
            return answer.answer(m.getName(), a == null ? new Object[0] : a);
        });
    }

    @FunctionalInterface
    interface Answer {
        Object answer(String method, Object[] args) throws Exception;
    }

    private String run(String command) throws Exception {
        out.reset();
        Object result = session.execute(command);
        System.out.flush();
        assertEquals(null, result, "commands print, they return nothing");
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Runs {@code command}, which must fail with an error whose message contains {@code expected}. */
    private void assertFailsWith(String command, String expected) {
        String message = assertThrows(Exception.class, () -> run(command)).getMessage();
        assertTrue(message.contains(expected), command + ": " + message);
    }

    @Test
    void serviceAddListGetDelete() throws Exception {
        String r = run("service:add --frontend 10.197.0.10:80 deathstar deathstar-1,deathstar-2");
        assertEquals("ID   Frontend         Service Type   Backend\n"
                + "1    10.197.0.10:80   ClusterIP      1 => 10.199.0.7:80 (active)\n"
                + "                                     2 => 10.199.0.7:80 (active)\n", r);
        assertEquals(r, run("service:list"));
        assertEquals(2, json.readTree(run("service:get -o json deathstar")).get("backends").size());
        assertFailsWith("service:add --frontend 10.197.0.11 other", "field frontend");
        assertEquals(1, json.readTree(run("service:list -o json")).size());
        assertEquals("Deleted service deathstar\n", run("service:delete deathstar"));
        Exception e = assertThrows(Exception.class, () -> run("service:delete deathstar"));
        assertTrue(e.getMessage().startsWith("no service \"deathstar\""), e.getMessage());
    }

    @Test
    void ruleHitsAuditAndSuggest() throws Exception {
        policies.set(0, new PolicyInfo("rule1", "default", "CiliumNetworkPolicy", 2, "sw.yaml",
                List.of(new io.septum.api.policy.RuleRef(41, "default/rule1", "ingress", 0, false),
                        new io.septum.api.policy.RuleRef(42, "default/rule1", "ingress", 1, false)), List.of(), "kind: x"));
        policyCommands.datapath = fake(Datapath.class, (m, a) -> switch (m) {
            case "ruleHits" -> List.of(new io.septum.api.datapath.RuleHits(7, 41, "INGRESS", 5),
                    new io.septum.api.datapath.RuleHits(8, 41, "INGRESS", 2));
            default -> throw new UnsupportedOperationException(m);
        });
        String rules = run("policy:list --rules");
        assertTrue(rules.startsWith("POLICY"), rules);
        assertTrue(rules.matches("(?s).*default/rule1\\s+41\\s+ingress\\[0\\]\\s+7\\n.*"), rules);
        assertTrue(rules.matches("(?s).*default/rule1\\s+42\\s+ingress\\[1\\]\\s+0\\n.*"), rules);
        assertEquals(0, json.readTree(run("policy:list --rules -o json")).get(1).path("hits").asLong());
        assertTrue(run("policy:list").contains("HITS"));

        List<String> audits = new ArrayList<>();
        EndpointManager base = endpointCommands.endpoints;
        endpointCommands.endpoints = fake(EndpointManager.class, (m, a) -> switch (m) {
            case "get" -> base.get((String) a[0]);
            case "list" -> base.list();
            case "setAudit" -> {
                audits.add(a[0] + "=" + a[1]);
                Endpoint e = endpoint(8, "xwing", "default");
                yield new Endpoint(e.id(), e.name(), e.namespace(), e.source(), e.labels(), e.identity(), e.state(),
                        e.addresses(), e.interfaceName(), e.ifindex(), e.netns(), e.policyIngress(), e.policyEgress(),
                        e.externalIds(), e.policyRevision(), e.message(), (boolean) a[1]);
            }
            default -> throw new UnsupportedOperationException(m);
        });
        processor.addCommand("endpoint", endpointCommands, "config");
        assertEquals("Endpoint 8 (default/xwing): audit on\n", run("endpoint:config xwing audit=on"));
        assertEquals(List.of("8=true"), audits);
        assertThrows(Exception.class, () -> run("endpoint:config xwing audit=maybe"));

        policyCommands.endpointManager = base;
        policyCommands.suggester = (ep, since) -> {
            assertEquals("8", ep);
            assertTrue(since == null || since.isBefore(java.time.Instant.now().minusSeconds(3500)), "--since 1h");
            return Map.of("apiVersion", "cilium.io/v2", "kind", "CiliumNetworkPolicy",
                    "spec", Map.of("ingress", List.of(Map.of("toPorts", List.of(Map.of("ports", List.of(Map.of("port", "80"))))))));
        };
        processor.addCommand("policy", policyCommands, "suggest");
        String yaml = run("policy:suggest --endpoint xwing --since 1h");
        assertTrue(yaml.contains("kind: CiliumNetworkPolicy") && yaml.contains("port: \"80\""), yaml);
        assertEquals("cilium.io/v2", json.readTree(run("policy:suggest --endpoint xwing -o json")).path("apiVersion").asText());
    }

    @Test
    void endpointListTableAndJson() throws Exception {
        String table = run("endpoint:list");
        assertTrue(table.startsWith("ENDPOINT   NAME"), table);
        assertTrue(table.contains("default/deathstar"), table);
        JsonNode list = json.readTree(run("endpoint:list -o json"));
        assertEquals(2, list.size());
        assertEquals("ready", list.get(0).get("state").asText());
        assertEquals(json.readTree(run("endpoint:list --output json")), list);
    }

    @Test
    void endpointGetAddDelete() throws Exception {
        assertTrue(run("endpoint:get default/xwing").contains("Name:               default/xwing"));
        String r = run("endpoint:add --name web --namespace prod --netns sept-tweb app=web tier=1");
        assertEquals("Endpoint prod/web added (id 20, ready)\n", r);
        assertEquals(List.of("netns prod/web prod sept-tweb null {app=web, tier=1}"), added);
        assertEquals("Endpoint 8 deleted\n", run("endpoint:delete 8"));
        assertEquals("prod/web", json.readTree(run("endpoint:delete -o json prod/web")).get("deleted").asText());
        Exception e = assertThrows(Exception.class, () -> run("endpoint:get nope"));
        assertTrue(e.getMessage().startsWith("no endpoint \"nope\""), e.getMessage());
        assertFailsWith("endpoint:add --name web", "--netns");
    }

    @Test
    void policyImpactDiffHistoryRollback() throws Exception {
        PolicyChangeCommands pc = new PolicyChangeCommands();
        pc.out = () -> new java.io.PrintStream(out, true, StandardCharsets.UTF_8);
        pc.engine = policyCommands.engine;
        List<String> asked = new java.util.ArrayList<>();
        pc.impact = new io.septum.api.flow.PolicyImpact() {
            @Override
            public io.septum.api.flow.ImpactReport impact(PolicySet draft, java.time.Instant since) {
                asked.add("impact " + (System.currentTimeMillis() - since.toEpochMilli() + 30_000) / 60_000 + "m");
                return new io.septum.api.flow.ImpactReport(since.toString(), 3, false, 1, 0, 0, List.of(
                        new io.septum.api.flow.ImpactReport.ImpactFlow("default/xwing", "default/deathstar", "TCP", 80,
                                null, null, 2, "FORWARDED", "ALLOWED", "DROPPED", null, "ingress: default deny", "newly-dropped")),
                        List.of("default/deathstar"));
            }

            @Override
            public io.septum.api.flow.PolicyDiff diff(PolicySet draft) {
                return new io.septum.api.flow.PolicyDiff(List.of(new io.septum.api.flow.PolicyDiff.PolicyChange(
                        "default/rule1", "CiliumNetworkPolicy", "added", List.of())), List.of());
            }
        };
        RecordingPolicyHistory history = new RecordingPolicyHistory(5, 6, new io.septum.api.policy.PolicyRevision(4,
                "2026-12-06T08:00:00Z", "uid 0 (root)", "import", "changed", "CiliumNetworkPolicy", "default/rule1",
                "a.yaml", null, List.of("-a", "+b")));
        pc.history = history;
        register(pc, "policy", "impact", "diff", "history", "rollback", "stage", "promote");
        Files.writeString(dir.resolve("d.yaml"), "kind: CiliumNetworkPolicy\n");

        String impact = run("policy:impact --since 2h d.yaml");
        assertTrue(impact.contains("newly dropped 1") && impact.contains("default/xwing"), impact);
        assertEquals("impact 120m", asked.get(0));
        assertTrue(run("policy:diff d.yaml").contains("added: CiliumNetworkPolicy default/rule1"));
        assertEquals(1, json.readTree(run("policy:impact -o json d.yaml")).get("newly_dropped").asInt());
        assertFailsWith("policy:impact bad.yaml", "cannot read bad.yaml");

        assertTrue(run("policy:history --diff prod/rule1").contains("  -a"));
        assertEquals("history prod|rule1|0", history.lastCall());
        run("policy:history");
        assertEquals("history |null|0", history.lastCall());
        assertEquals("Rolled back policy default/rule1 to revision 2; new revision 5\n", run("policy:rollback --to 2 rule1"));
        assertEquals("rollback default|rule1|2|" + SessionAuthors.CONSOLE, history.lastCall());
        assertFailsWith("policy:rollback rule1", "--to");
        assertEquals("Staged policy prod/rule1 (audit mode), revision 6\n", run("policy:stage prod/rule1"));
        assertEquals("mode prod|rule1|audit|" + SessionAuthors.CONSOLE, history.lastCall());
        run("policy:promote rule1");
        assertEquals("mode default|rule1|enforce|" + SessionAuthors.CONSOLE, history.lastCall());
    }

    @Test
    void policyImportFromTheSessionDirectory() throws Exception {
        Files.writeString(dir.resolve("p.yaml"), "kind: CiliumNetworkPolicy\n");
        assertEquals("Imported 2 policies, revision 5\n", run("policy:import p.yaml"));
        assertEquals(5, json.readTree(run("policy:import -o json p.yaml")).get("revision").asInt());
        Files.writeString(dir.resolve("bad.yaml"), "bad");
        Exception e = assertThrows(Exception.class, () -> run("policy:import bad.yaml"));
        assertEquals("bad.yaml: document 1 (\"default/x\"): spec.ingress: bad rule", e.getMessage());
        e = assertThrows(Exception.class, () -> run("policy:import missing.yaml"));
        assertEquals("cannot read missing.yaml: no such file", e.getMessage());
    }

    @Test
    void policyGetNeedsANamespaceWhenTheNameIsAmbiguous() throws Exception {
        assertFailsWith("policy:get rule1", "several policies are named \"rule1\": default/rule1, prod/rule1");
        assertEquals("prod", json.readTree(run("policy:get -n prod -o json rule1")).get("namespace").asText());
        assertTrue(run("policy:get default/rule1").contains("Namespace:          default"));
        assertEquals("Deleted policy rule1, revision 9\n", run("policy:delete -n prod rule1"));
        assertTrue(run("policy:list").contains("rule1"));
    }

    @Test
    void policyEvalTakesAnHttpRequestForEveryTcpProbe() throws Exception {
        Files.writeString(dir.resolve("case.yaml"), "name: c1");
        assertTrue(run("policy:eval --http-method PUT --http-path /v1/exhaust-port --http-header 'X-Has-Force: true' case.yaml")
                .endsWith("2 passed, 0 failed\n"));
        assertFailsWith("policy:eval --http-path nope case.yaml", "--http-path \"nope\" must start with /");
        java.util.Map<String, String> http = PolicyCommands.httpProbe("PUT", "/x", "Host: deathstar");
        assertEquals(java.util.Map.of("method", "PUT", "path", "/x", "host", "deathstar", "headers", "Host: deathstar"), http);
        TestCase c = new TestCase("c", null, null, null, null, null, List.of(
                new TestCase.Probe("a", "b", 80, "TCP", null, "allow"), new TestCase.Probe("a", "b", 53, "UDP", null, "deny")));
        TestCase w = PolicyCommands.withHttp(c, http);
        assertEquals(http, w.probes().get(0).http());
        assertEquals(null, w.probes().get(1).http(), "UDP probes stay as they are");
        assertEquals(null, PolicyCommands.httpProbe("", "", ""));
    }

    @Test
    void policyValidateAndEval() throws Exception {
        Files.writeString(dir.resolve("good.yaml"), "ok");
        Files.writeString(dir.resolve("bad.yaml"), "bad");
        assertEquals("good.yaml: valid (0 policies)\n", run("policy:validate good.yaml"));
        Exception e = assertThrows(Exception.class, () -> run("policy:validate good.yaml bad.yaml"));
        assertTrue(e.getMessage().contains("bad.yaml: document 2 (CiliumNetworkPolicy \"default/x\"): "
                + "spec.ingress[0].toPorts[0].ports[0].port: port 99999 is out of range"), e.getMessage());

        Files.writeString(dir.resolve("case.yaml"), "name: c1");
        String table = run("policy:eval case.yaml");
        assertTrue(table.startsWith("FROM"), table);
        assertTrue(table.endsWith("2 passed, 0 failed\n"), table);
        JsonNode j = json.readTree(run("policy:eval -o json --enforcement never case.yaml"));
        assertEquals("c1", j.get("case").asText());
        assertEquals(1, j.get("failed").asInt());
        assertEquals(false, j.get("results").get(1).get("pass").asBoolean());
        assertEquals(false, j.get("results").get(1).has("note"));
    }

    @Test
    void policyTraceParsesLabelsAsTheApiDoes() throws Exception {
        String r = run("policy:trace -s org=empire,k8s:class=tiefighter -d class=deathstar --dport 80/TCP");
        assertTrue(r.endsWith("Final verdict: ALLOWED\n"), r);
        assertEquals(Labels.parse(List.of("any:org=empire", "k8s:class=tiefighter", "k8s:io.kubernetes.pod.namespace=default"),
                "any"), traced.get(0));
        assertTrue(r.contains(" 80/TCP"), r);
        assertFailsWith("policy:trace -s a=b", "--dst-labels");
        Exception e = assertThrows(Exception.class, () -> run("policy:trace -s , -d class=deathstar"));
        assertEquals("no labels given (e.g. k8s:org=empire,class=tiefighter)", e.toString());
    }

    @Test
    void bpfMaps() throws Exception {
        assertTrue(run("bpf:endpoint list").contains("0x0003 ingress egress"));
        assertTrue(run("bpf:policy get default/deathstar").contains("INGRESS     ANY        TCP        80"));
        assertEquals(1, json.readTree(run("bpf:ipcache -o json list")).size());
        assertFailsWith("bpf:policy get nope", "no endpoint \"nope\"");
        assertFailsWith("bpf:ipcache get", "unknown verb \"get\" (usage: bpf:ipcache list)");
    }

    @Test
    void statusNamesWhatIsMissing() throws Exception {
        String s = run("status");
        assertTrue(s.startsWith("Septum:             Ok   0.1.0-test"), s);
        assertTrue(s.contains("Start to ready:     4000 ms"), s);
        assertTrue(s.contains("Endpoints:          2"), s);
        assertTrue(s.contains("datapath:           failed   not running"), s);
        assertTrue(s.contains("Source netns:       connected"), s);
        JsonNode j = json.readTree(run("septum:status -o json"));
        assertTrue(j.get("ready").asBoolean());
        assertEquals("api-server", j.get("components").get(1).get("name").asText());
    }

    @Test
    void statusWithoutTheApiServerSaysSo() {
        statusCommand.statusService = null;
        Exception e = assertThrows(Exception.class, () -> run("status"));
        assertEquals("the agent's status comes from the API server (bundle septum-api-server), which is not running "
                + "(see 'lb septum' and the agent's log)", e.toString());
        assertFailsWith("status -o yaml", "expected table or json");
    }

    @Test
    void namespacesAndIdentities() throws Exception {
        assertEquals("Namespace prod: 1 label(s) set\n", run("namespace:set prod team=prod"));
        assertEquals("prod", json.readTree(run("namespace:set -o json prod team=prod")).path("prod").path("team").asText());
        assertTrue(run("namespace:list").contains("prod        team=prod"));
        assertTrue(run("identity:list").contains("reserved:host"));
        assertFailsWith("identity:get 5", "no identity 5");
    }

    @Test
    void errorsReadAsTheirMessageAlone() {
        Exception e = assertThrows(Exception.class, () -> run("policy:trace -s a=b -d c=d --dport 80/XTP"));
        assertEquals("unknown protocol \"XTP\" (expected TCP, UDP, SCTP or ANY)", e.toString());
        e = assertThrows(Exception.class, () -> run("policy:eval --enforcement sometimes x.yaml"));
        assertTrue(e.toString().startsWith("unknown enforcement mode \"sometimes\""), e.toString());
        e = assertThrows(Exception.class, () -> run("endpoint:get nope"));
        assertTrue(e.toString().startsWith("no endpoint \"nope\""), e.toString());
    }

    @Test
    void unknownOutputFormatIsAnError() {
        assertFailsWith("endpoint:list -o yaml", "expected table or json");
    }

    @Test
    void monitorPrintsEventsAndCountsWhatItLost() throws Exception {
        MonitorCommand m = new MonitorCommand(null);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8);
        m.out = () -> ps;
        BlockingQueue<Object> q = new ArrayBlockingQueue<>(4);
        LongAdder lost = new LongAdder();
        lost.add(3);
        q.add(new DatapathEvent(0, "drop", 7, "INGRESS", "DROPPED", 133, "10.199.0.8", 4000, 308, "10.199.0.7", 80, 307,
                "TCP", 0, 2, false, 100));
        q.add(new DatapathEvent(0, "policy-verdict", 7, "INGRESS", "FORWARDED", 0, "10.199.0.8", 4001, 308, "10.199.0.7",
                80, 307, "TCP", 1, 2, false, 100));
        m.stream(q, lost, false, "drop", 1);
        String s = buf.toString(StandardCharsets.UTF_8);
        assertTrue(s.startsWith("(3 events lost"), s);
        assertTrue(s.contains("10.199.0.8:4000 (ID:308) -> 10.199.0.7:80 (ID:307) drop INGRESS DROPPED (Policy denied)"), s);
        buf.reset();
        m.stream(q, lost, true, "", 1);
        String line = buf.toString(StandardCharsets.UTF_8);
        assertEquals(1, line.lines().count(), "one event, one line: " + line);
        assertEquals("FORWARDED", json.readTree(line).get("verdict").asText());
    }

    @Test
    void observePrintsFlowsAsTheCliDoesWithTheSameFilters() throws Exception {
        String s = run("observe --verdict DROPPED --from-label app=xwing --port 80");
        assertTrue(s.strip().endsWith("default/xwing:4000 (ID:308) -> default/deathstar:80 (ID:307) "
                + "drop (Policy denied) INGRESS DROPPED (TCP Flags: SYN)"), s);
        io.septum.api.flow.FlowFilter f = observed.get(observed.size() - 1);
        assertEquals(List.of("app=xwing"), f.fromLabel());
        assertEquals(80, f.port());
        assertEquals("", run("observe --verdict FORWARDED"));
        String line = run("observe -o json");
        assertEquals(1, line.lines().count(), "one flow, one line: " + line);
        assertEquals("DROPPED", json.readTree(line).get("verdict").asText());
        assertTrue(run("observe -o table").contains("default deny: no rule allows"));
        assertFailsWith("observe --type dropped", "policy-verdict");
    }

    @Test
    void clusterPoliciesImportListAndDeleteThroughTheClusterPoliciesService() throws Exception {
        Files.writeString(dir.resolve("p.yaml"), "kind: CiliumNetworkPolicy\n");
        Exception e = assertThrows(Exception.class, () -> run("policy:list --cluster"));
        assertEquals("cluster policies (standalone: no etcdEndpoints in etc/io.septum.cluster.cfg) is not running in the"
                + " agent (see 'status' and the agent's log)", e.getMessage());
        List<io.septum.api.policy.ClusterPolicy> stored = List.of(
                new io.septum.api.policy.ClusterPolicy("default", "web", "CiliumNetworkPolicy", 12, Map.of("node-a", 12L, "node-b", 11L)),
                new io.septum.api.policy.ClusterPolicy("", "cw", "CiliumClusterwideNetworkPolicy", 13, Map.of()));
        policyCommands.clusterPolicies = fake(io.septum.api.policy.ClusterPolicies.class, (m, a) -> switch (m) {
            case "importPolicies" -> {
                clusterCalls.add("import " + a[0] + " by " + a[1]);
                if (((String) a[0]).contains("bad")) {
                    throw new PolicyValidationException(List.of(new ValidationError("cluster", 1, "CiliumNetworkPolicy",
                            "default/x", "spec.ingress", "bad rule")));
                }
                yield List.of(stored.get(0));
            }
            case "list" -> stored;
            case "delete" -> {
                clusterCalls.add("delete " + a[0] + " " + a[1]);
                yield a[1].equals("web") || a[1].equals("cw");
            }
            default -> throw new UnsupportedOperationException(m);
        });

        assertEquals("Stored 1 cluster policies; every node imports them (policy:list --cluster)\n",
                run("policy:import --cluster p.yaml"));
        assertTrue(clusterCalls.get(0).startsWith("import kind: CiliumNetworkPolicy\n by ")
                && !clusterCalls.get(0).endsWith(" by null"), "the session's author goes to the store: " + clusterCalls.get(0));
        assertEquals("web", json.readTree(run("policy:import --cluster -o json p.yaml")).get(0).get("name").asText());
        assertTrue(policies.size() == 2, "nothing went to the local repository");
        Files.writeString(dir.resolve("bad.yaml"), "bad");
        e = assertThrows(Exception.class, () -> run("policy:import --cluster p.yaml bad.yaml"));
        assertEquals("bad.yaml: document 1 (CiliumNetworkPolicy \"default/x\"): spec.ingress: bad rule\n"
                + "bad.yaml was not stored; the files before it were", e.getMessage());

        assertEquals(io.septum.view.Views.clusterPolicies(stored).render(), run("policy:list --cluster"));
        JsonNode listed = json.readTree(run("policy:list --cluster -o json"));
        assertEquals(11, listed.get(0).get("realized").get("node-b").asInt());

        clusterCalls.clear();
        assertEquals("Deleted cluster policy default/web; every node drops it\n", run("policy:delete --cluster default/web"));
        assertEquals("Deleted cluster policy cw; every node drops it\n", run("policy:delete --cluster -n - cw"));
        assertEquals("default/web", json.readTree(run("policy:delete --cluster -o json -n default web")).get("deleted").asText());
        assertEquals(List.of("delete default web", "delete  cw", "delete default web"), clusterCalls);
        e = assertThrows(Exception.class, () -> run("policy:delete --cluster default/nope"));
        assertEquals("no cluster policy \"default/nope\" (see policy:list --cluster)", e.getMessage());
        assertEquals(2, policies.size(), "a cluster delete leaves the local policies alone");
    }

    @Test
    void observeClusterPrintsWhatTheRelaySendsWithNodeNames() throws Exception {
        Exception e = assertThrows(Exception.class, () -> run("observe --cluster"));
        assertTrue(e.getMessage().startsWith("the flow relay (septum-api-server's peer flow component) is not running"), e.getMessage());
        List<Map<String, List<String>>> asked = new ArrayList<>();
        io.septum.api.flow.FlowNodeStatus down = new io.septum.api.flow.FlowNodeStatus("node-c", "unreachable",
                "cannot connect to 192.0.2.13:4244: Connection refused", "2026-12-06T02:00:00Z");
        observe.relay = (query, follow, sink) -> {
            io.septum.api.flow.FlowQuery.parse(query, 0, java.util.Set.of()); // refuses what the relay would refuse
            asked.add(query);
            sink.flow(flows.get(0).withNodeName("node-b"));
            sink.status(down);
            sink.flow(flows.get(0).withNodeName("node-a"));
        };
        String s = run("observe --cluster --verdict DROPPED --from-label app=xwing,class=x --since 5m --last 3");
        String[] lines = s.split("\n");
        assertEquals(3, lines.length, s);
        assertEquals(io.septum.view.Views.flow(flows.get(0).withNodeName("node-b"), true), lines[0]);
        assertTrue(lines[0].contains(" [node-b]: default/xwing:4000 (ID:308) -> default/deathstar:80"), lines[0]);
        assertEquals(io.septum.view.Views.nodeStatus(down), lines[1]);
        assertTrue(lines[2].contains(" [node-a]: "), lines[2]);
        assertEquals(Map.of("last", List.of("3"), "verdict", List.of("DROPPED"), "from-label", List.of("app=xwing,class=x"),
                "since", List.of("5m")), asked.get(0));

        String[] js = run("observe --cluster -o json").split("\n");
        assertEquals("node-b", json.readTree(js[0]).get("node_name").asText());
        assertEquals("unreachable", json.readTree(js[1]).get("node_status").get("state").asText());
        assertEquals(List.of("20"), asked.get(1).get("last"), "the CLI's default: the last 20");

        String table = run("observe --cluster -o table");
        assertTrue(table.startsWith("NODE "), table);
        assertEquals(1, table.lines().filter(l -> l.startsWith("NODE ")).count(), "one header: " + table);
        assertFailsWith("observe --cluster --type dropped", "policy-verdict");
    }
}
