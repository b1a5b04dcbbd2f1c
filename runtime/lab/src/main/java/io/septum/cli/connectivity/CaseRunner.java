package io.septum.cli.connectivity;

import io.septum.api.AgentStatus;
import io.septum.api.policy.CaseResult;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.ProbeResult;
import io.septum.api.policy.TestCase;
import io.septum.api.policy.ValidationError;
import io.septum.cli.AgentClient;
import io.septum.cli.AgentException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Runs one corpus case with real packets against the running agent: validates it offline, builds the lab,
 * registers the endpoints and imports the policies, probes, and removes everything it made.
 */
public final class CaseRunner {
    public static final int EXIT_PASS = 0;
    public static final int EXIT_FAIL = 1;
    public static final int EXIT_INVALID = 2;
    public static final int EXIT_ERROR = 3;
    static final int PARALLEL_PROBES = 4;

    private final AgentClient client;
    private final PolicyEngine engine;
    private final PrintStream progress;
    private final Duration timeout;
    /**
     * What a {@code dns:} lookup waits beyond the probe timeout: the agent's DNS proxy holds an allowed answer up to
     * 1 s until the allows its addresses open are in place (as Cilium holds them), and a resolver waits seconds for
     * an answer (glibc: 5 s a try), so a lookup given only the probe timeout could count a held answer as none.
     */
    static final Duration DNS_ANSWER_HOLD = Duration.ofSeconds(2);
    private final boolean keep;
    private final Duration readyTimeout;
    private final LabRuntime.Factory runtime;

    /** The outcome: the rows to print and the exit code; {@code result} is null when nothing was probed. */
    public record Outcome(CaseResult result, int exit, String error) {
    }

    private static List<String> fqdns(TestCase tc) {
        return tc.external().stream().map(TestCase.External::fqdn).filter(java.util.Objects::nonNull).toList();
    }

    /** Where a case's DNS endpoint answers. */
    private static final int DNS_PORT = 53;

    /** A case endpoint or external host, resolved to its lab node. */
    private record Target(String name, NetLab.Node node, boolean external) {
    }

    public CaseRunner(AgentClient client, PolicyEngine engine, PrintStream progress, Duration timeout, boolean keep,
                      Duration readyTimeout) {
        this(client, engine, progress, timeout, keep, readyTimeout, LabRuntime.netns());
    }

    /** With the endpoints made by {@code runtime} (network namespaces or containers). */
    public CaseRunner(AgentClient client, PolicyEngine engine, PrintStream progress, Duration timeout, boolean keep,
                      Duration readyTimeout, LabRuntime.Factory runtime) {
        this.runtime = runtime;
        this.client = client;
        this.engine = engine;
        this.progress = progress;
        this.timeout = timeout;
        this.keep = keep;
        this.readyTimeout = readyTimeout;
    }

    /** Parses and checks a case without touching the agent or the kernel. */
    public static TestCase validate(PolicyEngine engine, String origin, String text) throws PolicyValidationException {
        TestCase tc = engine.parseCase(origin, text);
        if (!tc.policies().isBlank()) engine.parse(origin, tc.policies());
        List<ValidationError> errors = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        for (TestCase.Endpoint e : tc.endpoints()) {
            if (!names.add(e.qualifiedName())) {
                errors.add(new ValidationError(origin, 0, null, null, "endpoints", "endpoint " + e.qualifiedName()
                        + " is declared twice"));
            }
            for (String p : e.ports()) checkPort(origin, "endpoints[" + e.qualifiedName() + "].ports", p, errors);
        }
        for (TestCase.External x : tc.external()) {
            if (x.ip() == null || !x.ip().matches("10\\.(19[2-9]|2[0-4]\\d|25[0-5])\\.\\d{1,3}\\.\\d{1,3}")) {
                errors.add(new ValidationError(origin, 0, null, null, "external[" + x.name() + "].ip",
                        "address " + x.ip() + " is outside the lab range " + NetLab.LAB_ROUTE
                                + " (use 10.198.x.y; addresses exist only inside the lab's namespaces)"));
            }
            for (String p : x.ports()) checkPort(origin, "external[" + x.name() + "].ports", p, errors);
        }
        int i = 0;
        for (TestCase.Probe p : tc.probes()) {
            String field = "probes[" + i++ + "]";
            for (String end : new String[] {p.from(), p.to()}) {
                String problem = resolveProblem(tc, end);
                if (problem != null) errors.add(new ValidationError(origin, 0, null, null, field, problem));
            }
            String proto = p.protocol().toUpperCase(Locale.ROOT);
            if (proto.equals("ICMP")) {
                // the port of an ICMP probe is its type; the lab (IPv4) sends echo requests
                if (p.port() != LabProbes.ICMP_ECHO_REQUEST) {
                    errors.add(new ValidationError(origin, 0, null, null, field + ".icmp.type", "ICMP type " + p.port()
                            + " cannot be probed with packets (the lab sends echo requests, type 8, only)"));
                }
            } else if (!proto.equals("TCP") && !proto.equals("UDP")) {
                errors.add(new ValidationError(origin, 0, null, null, field + ".protocol",
                        "protocol " + p.protocol() + " cannot be probed with packets (TCP, UDP or ICMP echo)"));
            } else if (p.port() < 1 || p.port() > 65535) {
                errors.add(new ValidationError(origin, 0, null, null, field + ".port", "port " + p.port() + " is outside 1-65535"));
            }
            if (!"allow".equals(p.expect()) && !"deny".equals(p.expect())) {
                errors.add(new ValidationError(origin, 0, null, null, field + ".expect",
                        "expect is \"" + p.expect() + "\" (expected allow or deny)"));
            }
        }
        if (!errors.isEmpty()) throw new PolicyValidationException(errors);
        return tc;
    }

    private static void checkPort(String origin, String field, String p, List<ValidationError> errors) {
        try {
            NetLab.Port.parse(p);
        } catch (IllegalArgumentException e) {
            errors.add(new ValidationError(origin, 0, null, null, field, e.getMessage()));
        }
    }

    /** Why a probe end does not name exactly one endpoint or external host, or null when it does. */
    private static String resolveProblem(TestCase tc, String ref) {
        if (ref == null || ref.isBlank()) return "a probe end is empty";
        int matches = matches(tc, ref).size();
        if (matches == 1) return null;
        return matches == 0 ? "\"" + ref + "\" names no endpoint or external host of the case"
                : "\"" + ref + "\" is ambiguous: write namespace/name";
    }

    private static List<String> matches(TestCase tc, String ref) {
        List<String> out = new ArrayList<>();
        for (TestCase.Endpoint e : tc.endpoints()) {
            if (ref.equals(e.qualifiedName()) || (!ref.contains("/") && ref.equals(e.name()))) out.add(e.qualifiedName());
        }
        for (TestCase.External x : tc.external()) {
            if (ref.equals(x.name())) out.add("external:" + x.name());
        }
        return out;
    }

    /** Runs a case that {@link #validate} accepted. */
    public Outcome run(String origin, TestCase tc) {
        LabAgents agents = runtime.agents(client, progress::println);
        AgentStatus status;
        try {
            status = agents.status();
        } catch (AgentException e) {
            return new Outcome(null, EXIT_ERROR, e.getMessage());
        }
        if (!status.ready()) {
            return new Outcome(null, EXIT_ERROR, "the agent is not ready yet (septum status); try again in a moment");
        }
        EnforcementMode mode;
        try {
            mode = EnforcementMode.parse(status.enforcementMode());
        } catch (RuntimeException e) {
            mode = EnforcementMode.DEFAULT;
        }
        List<PolicyInfo> parsed;
        CaseResult offline;
        try {
            parsed = tc.policies().isBlank() ? List.of() : engine.parse(origin, tc.policies()).policies();
            offline = engine.evaluate(tc, mode);
        } catch (PolicyValidationException e) {
            return new Outcome(null, EXIT_INVALID, e.getMessage());
        }
        String missing = runtime.checkAgent(status);
        if (missing != null) return new Outcome(null, EXIT_ERROR, missing);
        try {
            String conflict = agents.conflicts(parsed);
            if (conflict != null) return new Outcome(null, EXIT_ERROR, conflict);
            for (String e : agents.removeLeftovers()) {
                progress.println("septum: removed endpoint " + e + " left by an earlier run");
            }
        } catch (AgentException e) {
            return new Outcome(null, EXIT_ERROR, e.getMessage());
        }
        LabRuntime lab;
        try {
            for (String line : runtime.cleanupStale("c")) progress.println("septum: removed a leftover of an earlier run: " + line);
            lab = runtime.create('c');
        } catch (LabException e) {
            return new Outcome(null, EXIT_ERROR, e.getMessage());
        }
        ShutdownCleanup hook = ShutdownCleanup.install("septum-connectivity-cleanup", () -> {
            agents.close();
            lab.close();
        }, keep, lab::closeOnShutdownByCaller);
        try {
            Map<String, Target> targets = build(tc, lab);
            registerAll(origin, tc, lab, agents, targets, parsed);
            agents.forgetNames(fqdns(tc));
            List<ProbeResult> results = probeAll(tc, lab, targets, offline, () -> dnsProxyState(agents));
            CaseResult result = CaseResult.of(tc.name(), results);
            boolean allowsDenied = results.stream().anyMatch(r -> "allow".equals(r.expect()) && !r.pass());
            if (allowsDenied) NetLab.bridgeNetfilterWarning().ifPresent(w -> progress.println("septum: warning: " + w));
            return new Outcome(result, result.failed() == 0 ? EXIT_PASS : EXIT_FAIL, null);
        } catch (LabException | AgentException | IllegalArgumentException e) {
            return new Outcome(null, EXIT_ERROR, e.getMessage());
        } finally {
            if (keep) {
                lab.keep();
                progress.println("septum: --keep: the lab " + lab.runId() + " stays (" + lab.keepNote() + "), with its endpoints and policies in the agent;"
                        + " the next 'septum connectivity test' removes the lab's namespaces and endpoints; delete the policies with septum policy delete");
            } else {
                long t0 = System.nanoTime();
                try {
                    agents.forgetNames(fqdns(tc));
                } catch (AgentException e) {
                    progress.println("septum: could not clean the FQDN cache: " + e.getMessage());
                }
                agents.close();
                lab.close();
                hook.remove();
                progress.println("septum: cleaned up in " + millis(t0) + " ms");
            }
        }
    }

    private Map<String, Target> build(TestCase tc, LabRuntime lab) {
        long t0 = System.nanoTime();
        int n = tc.endpoints().size() + tc.external().size();
        progress.print("septum: creating " + n + " " + lab.endpointKind() + "... ");
        progress.flush();
        Map<String, Target> targets = new LinkedHashMap<>();
        for (Map.Entry<TestCase.Endpoint, NetLab.Node> e : addEndpoints(tc, lab).entrySet()) {
            targets.put(e.getKey().qualifiedName(), new Target(e.getKey().qualifiedName(), e.getValue(), false));
        }
        for (TestCase.External x : tc.external()) {
            targets.put("external:" + x.name(), new Target(x.name(), lab.addExternal(x.name(), x.ip()), true));
        }
        // listen on every declared port and on every probed one, so that a refusal always means a lab problem
        Map<String, Set<NetLab.Port>> ports = new LinkedHashMap<>();
        for (TestCase.Endpoint e : tc.endpoints()) {
            Set<NetLab.Port> s = ports.computeIfAbsent(e.qualifiedName(), k -> new LinkedHashSet<>());
            e.ports().forEach(p -> s.add(NetLab.Port.parse(p)));
        }
        for (TestCase.External x : tc.external()) {
            Set<NetLab.Port> s = ports.computeIfAbsent("external:" + x.name(), k -> new LinkedHashSet<>());
            x.ports().forEach(p -> s.add(NetLab.Port.parse(p)));
        }
        for (TestCase.Probe p : tc.probes()) {
            String to = matches(tc, p.to()).get(0);
            Set<NetLab.Port> s = ports.computeIfAbsent(to, k -> new LinkedHashSet<>());
            if (!p.protocol().equalsIgnoreCase("ICMP")) s.add(new NetLab.Port(p.port(), p.protocol()));
        }
        // a dns: true endpoint's 53/UDP is its DNS server's, which answers every external host's fqdn
        Map<String, String> records = new LinkedHashMap<>();
        for (TestCase.External x : tc.external()) if (x.fqdn() != null) records.put(x.fqdn(), x.ip());
        for (TestCase.Endpoint e : tc.endpoints()) {
            if (!e.dns()) continue;
            ports.getOrDefault(e.qualifiedName(), new LinkedHashSet<>()).remove(new NetLab.Port(DNS_PORT, "UDP"));
            lab.serveDns(targets.get(e.qualifiedName()).node(), records);
        }
        for (Map.Entry<String, Set<NetLab.Port>> e : ports.entrySet()) {
            if (!e.getValue().isEmpty()) lab.listen(targets.get(e.getKey()).node(), List.copyOf(e.getValue()));
        }
        lab.awaitListening(Duration.ofSeconds(10));
        progress.println("done in " + millis(t0) + " ms (lab " + lab.runId() + ")");
        return targets;
    }

    /** As many at a time as the runtime likes: a container takes seconds to start, a namespace milliseconds. */
    private static Map<TestCase.Endpoint, NetLab.Node> addEndpoints(TestCase tc, LabRuntime lab) {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(lab.parallelism(), r -> {
            Thread t = new Thread(r, "septum-lab-add");
            t.setDaemon(true);
            return t;
        });
        try {
            Map<TestCase.Endpoint, java.util.concurrent.Future<NetLab.Node>> futures = new LinkedHashMap<>();
            for (TestCase.Endpoint e : tc.endpoints()) futures.put(e, pool.submit(() -> lab.addEndpoint(e)));
            Map<TestCase.Endpoint, NetLab.Node> out = new LinkedHashMap<>();
            for (var f : futures.entrySet()) {
                try {
                    out.put(f.getKey(), f.getValue().get());
                } catch (java.util.concurrent.ExecutionException x) {
                    if (x.getCause() instanceof RuntimeException r) throw r;
                    throw new LabException("cannot add " + f.getKey().qualifiedName() + ": " + x.getCause(), x.getCause());
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                    throw new LabException("interrupted while building the lab", x);
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    private void registerAll(String origin, TestCase tc, LabRuntime lab, LabAgents agents, Map<String, Target> targets,
                             List<PolicyInfo> parsed) {
        long t0 = System.nanoTime();
        for (Map.Entry<String, Map<String, String>> ns : tc.namespaces().entrySet()) {
            agents.setNamespaceLabels(ns.getKey(), ns.getValue());
        }
        progress.print("septum: registering " + tc.endpoints().size() + " endpoints... ");
        progress.flush();
        for (TestCase.Endpoint e : tc.endpoints()) {
            agents.register(lab, targets.get(e.qualifiedName()).node(), e);
        }
        lab.checkEndpoints(tc, agents.registered(), agents.awaitReady(readyTimeout));
        progress.println("ready in " + millis(t0) + " ms");
        long t1 = System.nanoTime();
        if (!tc.policies().isBlank()) {
            progress.print("septum: importing " + parsed.size() + " policies... ");
            progress.flush();
        }
        long rev = agents.enforce(origin, tc.policies(), parsed, readyTimeout);
        if (!tc.policies().isBlank()) progress.println("revision " + rev + " enforced in " + millis(t1) + " ms");
    }

    private List<ProbeResult> probeAll(TestCase tc, LabRuntime lab, Map<String, Target> targets, CaseResult offline,
                                       java.util.function.Supplier<String> dnsProxy) {
        long t0 = System.nanoTime();
        NetLab.Node dnsServer = tc.endpoints().stream().filter(TestCase.Endpoint::dns).findFirst()
                .map(e -> targets.get(e.qualifiedName()).node()).orElse(null);
        progress.print("septum: sending " + tc.probes().size() + " probes... ");
        progress.flush();
        // a few probes at a time: a denied probe waits out its timeout, and probes do not share connections
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(PARALLEL_PROBES, r -> {
            Thread t = new Thread(r, "septum-probe");
            t.setDaemon(true);
            return t;
        });
        try {
            List<java.util.concurrent.Future<ProbeResult>> futures = new ArrayList<>();
            for (int i = 0; i < tc.probes().size(); i++) {
                TestCase.Probe p = tc.probes().get(i);
                ProbeResult judged = i < offline.results().size() ? offline.results().get(i) : null;
                Target from = targets.get(matches(tc, p.from()).get(0));
                Target to = targets.get(matches(tc, p.to()).get(0));
                futures.add(pool.submit(() -> probe(lab, p, from, to, judged, dnsServer, dnsProxy)));
            }
            List<ProbeResult> out = new ArrayList<>();
            for (java.util.concurrent.Future<ProbeResult> f : futures) {
                try {
                    out.add(f.get(timeout.toMillis() + 30_000, java.util.concurrent.TimeUnit.MILLISECONDS));
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new LabException("a probe failed: " + e.getCause(), e.getCause());
                } catch (java.util.concurrent.TimeoutException e) {
                    throw new LabException("a probe did not finish in time", e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new LabException("interrupted while probing", e);
                }
            }
            progress.println("done in " + millis(t0) + " ms");
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    private ProbeResult probe(LabRuntime lab, TestCase.Probe p, Target from, Target to, ProbeResult judged,
                              NetLab.Node dnsServer, java.util.function.Supplier<String> dnsProxy) {
        String proto = p.protocol().toUpperCase(Locale.ROOT);
        boolean http = p.http() != null && proto.equals("TCP");
        NetLab.Observation o = p.dns() == null ? null : resolve(lab, p, from, dnsServer, dnsProxy);
        if (o == null) {
            o = http ? httpProbe(lab, p, from, to) : lab.probe(from.node(), to.node().ip(), p.port(), proto, timeout);
        }
        String rule = judged == null ? "-" : judged.rule();
        List<String> notes = new ArrayList<>();
        if (http || o.verdict() != NetLab.Verdict.ALLOWED) notes.add(o.detail());
        if (judged != null && !judged.verdict().equals(o.verdict().text())) {
            notes.add("offline eval says " + judged.verdict());
        }
        String verdict = o.verdict().text();
        return new ProbeResult(p.from(), p.to(), p.port(), proto, p.expect(), verdict, rule,
                verdict.equals(p.expect()), String.join("; ", notes));
    }

    /**
     * A {@code dns:} probe's lookup at the case's DNS endpoint, through the agent's DNS proxy where DNS rules govern
     * it: null when it answered with the destination's address (the probe goes on), else the denial.
     */
    private NetLab.Observation resolve(LabRuntime lab, TestCase.Probe p, Target from, NetLab.Node server,
                                       java.util.function.Supplier<String> dnsProxy) {
        if (server == null) {
            return new NetLab.Observation(NetLab.Verdict.DENIED, "no dns: true endpoint to look " + p.dns() + " up at", 0);
        }
        NetLab.Lookup l = lab.lookup(from.node(), p.dns(), server.ip(), timeout.plus(DNS_ANSWER_HOLD));
        if (l.addresses().isEmpty()) {
            // an unanswered lookup: the agent's DNS proxy counters tell a dropped query from a lost upstream answer
            String why = l.detail().startsWith("no answer") ? l.detail() + " (dns-proxy of the agent that speaks for the lab: " + dnsProxy.get() + ")" : l.detail();
            return new NetLab.Observation(NetLab.Verdict.DENIED, "DNS lookup of " + p.dns() + ": " + why, 0);
        }
        return null;
    }

    /** The agent's dns-proxy line of {@code septum status} (its counters), or why it cannot be had. */
    private static String dnsProxyState(LabAgents agents) {
        try {
            return agents.status().components().stream().filter(c -> c.name().equals("dns-proxy"))
                    .map(c -> c.state() + ", " + c.message()).findFirst().orElse("none in status");
        } catch (RuntimeException e) {
            return "status failed: " + e.getMessage();
        }
    }

    /** An {@code http:} probe: a real request with curl from the client's namespace, judged by its answer. */
    private NetLab.Observation httpProbe(LabRuntime lab, TestCase.Probe p, Target from, Target to) {
        Map<String, String> h = p.http();
        String method = h.getOrDefault("method", "").isEmpty() ? "GET" : h.get("method");
        String path = h.getOrDefault("path", "").isEmpty() ? "/" : h.get("path");
        List<String> headers = new ArrayList<>();
        String hs = h.get("headers");
        if (hs != null && !hs.isEmpty()) headers.addAll(List.of(hs.split("\n")));
        String host = h.get("host");
        if (host != null && !host.isEmpty() && headers.stream().noneMatch(x -> x.toLowerCase(Locale.ROOT).startsWith("host:"))) {
            headers.add("Host: " + host);
        }
        String ip = to.node().ip();
        String url = "http://" + (ip.contains(":") ? "[" + ip + "]" : ip) + ":" + p.port() + path;
        return judgeHttp(lab.http(from.node(), method, url, headers, timeout), method + " " + path, timeout);
    }

    /**
     * What an HTTP answer means: a 2xx from the server is allow; the proxy's {@code 403 Access denied} is an L7
     * deny, and a request that times out (curl exit 28) was dropped at L3/L4; anything else (refused, another
     * status) is a lab or server problem, reported as such rather than counted as either verdict.
     */
    static NetLab.Observation judgeHttp(NetLab.HttpReply r, String request, Duration timeout) {
        String body = r.body() == null ? "" : r.body().strip();
        String first = body.lines().findFirst().orElse("");
        if (r.exit() == 0 && r.status() >= 200 && r.status() < 300) {
            return new NetLab.Observation(NetLab.Verdict.ALLOWED, request + ": HTTP " + r.status() + " " + first, r.millis());
        }
        if (r.exit() == 0 && r.status() == 403 && body.contains("Access denied")) {
            return new NetLab.Observation(NetLab.Verdict.DENIED, request + ": HTTP 403 Access denied (L7)", r.millis());
        }
        if (r.exit() == 28) {
            return new NetLab.Observation(NetLab.Verdict.DENIED, request + ": no answer within " + timeout.toMillis()
                    + " ms (dropped at L3/L4)", r.millis());
        }
        if (r.exit() == 7) {
            return new NetLab.Observation(NetLab.Verdict.REFUSED, request + ": connection refused (nothing listens there)",
                    r.millis());
        }
        String why = r.exit() != 0 ? "curl exit " + r.exit() + (r.error() == null || r.error().isEmpty() ? "" : ": " + r.error())
                : "HTTP " + r.status() + " " + first;
        return new NetLab.Observation(NetLab.Verdict.ERROR, request + ": " + why, r.millis());
    }

    private static long millis(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
