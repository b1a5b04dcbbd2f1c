package io.septum.cli.demo;

import io.septum.api.Endpoint;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.flow.Flow;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.service.Service;
import io.septum.api.service.ServiceSpec;
import io.septum.api.view.Views;
import io.septum.cli.AgentClient;
import io.septum.cli.AgentException;
import io.septum.cli.SeptumCommand;
import io.septum.cli.connectivity.AgentSession;
import io.septum.cli.connectivity.LabException;
import io.septum.cli.connectivity.NetLab;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code septum demo starwars}: the seed's Star Wars demo (section 3: the deathstar service and the L7 rule) on
 * real network-namespace endpoints against the running agent. It joins the {@code septum} root command as a
 * {@link SeptumCommand} (ServiceLoader).
 */
@Command(name = "demo", description = "Demos on real network-namespace endpoints.", mixinStandardHelpOptions = true,
        subcommands = DemoCommand.StarWars.class)
public class DemoCommand implements SeptumCommand {
    static final String POLICY_FILE = "sw_l3_l4_l7_policy.yaml";
    /** The origin the demo imports its policy under, so that a later run recognises a kept demo's policy. */
    static final String ORIGIN = "septum-demo:" + POLICY_FILE;
    static final Duration CURL_TIMEOUT = Duration.ofSeconds(2);
    /** The name the ships reach the deathstars by, through the service's hosts entry. */
    static final String DEATHSTAR = "deathstar.default.svc.cluster.local";

    /** The seed's {@code sw_l3_l4_l7_policy.yaml}, used when the examples folder cannot be found. */
    static final String POLICY = String.join("\n",
            "apiVersion: \"cilium.io/v2\"",
            "kind: CiliumNetworkPolicy",
            "metadata:",
            "  name: \"rule1\"",
            "spec:",
            "  description: \"L7 policy to restrict access to specific HTTP call\"",
            "  endpointSelector:",
            "    matchLabels:",
            "      org: empire",
            "      class: deathstar",
            "  ingress:",
            "  - fromEndpoints:",
            "    - matchLabels:",
            "        org: empire",
            "    toPorts:",
            "    - ports:",
            "      - port: \"80\"",
            "        protocol: TCP",
            "      rules:",
            "        http:",
            "        - method: \"POST\"",
            "          path: \"/v1/request-landing\"",
            "");

    @Command(name = "starwars", mixinStandardHelpOptions = true,
            description = "The seed's Star Wars demo against the running agent: deathstar-1 and deathstar-2 behind the"
                    + " deathstar service, tiefighter and xwing, as network-namespace endpoints. Before the policy both ships"
                    + " land and the tiefighter's PUT explodes the deathstar; with sw_l3_l4_l7_policy.yaml the PUT gets"
                    + " 'Access denied', the POST lands and the xwing is dropped. Exit 0 when every expected outcome was"
                    + " seen. Cleans up on exit unless --keep.")
    public static class StarWars implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--keep", description = "Leave the endpoints, the policy and the namespaces in place (the next run replaces them).")
        boolean keep;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            return new Demo(client(spec), out, err, keep).run();
        }
    }

    static AgentClient client(CommandSpec spec) {
        for (CommandSpec s = spec; s != null; s = s.parent()) {
            OptionSpec o = s.findOption("--socket");
            if (o != null && o.<Object>getValue() != null && !String.valueOf(o.<Object>getValue()).isBlank()) {
                return new AgentClient(Path.of(String.valueOf(o.<Object>getValue())));
            }
        }
        return AgentClient.fromEnvironment();
    }

    /** One run of the demo. */
    static final class Demo {
        private final AgentClient client;
        private final PrintWriter out;
        private final PrintWriter err;
        private final boolean keep;
        private final List<String> failures = new ArrayList<>();
        private final List<DatapathEvent> events = new CopyOnWriteArrayList<>();
        private final Map<String, NetLab.Node> nodes = new LinkedHashMap<>();

        Demo(AgentClient client, PrintWriter out, PrintWriter err, boolean keep) {
            this.client = client;
            this.out = out;
            this.err = err;
            this.keep = keep;
        }

        int run() {
            try {
                client.get("/v1/status", io.septum.api.AgentStatus.class);
                AgentSession.removeLeftovers(client, "d");
                NetLab.cleanupStale("d");
                removeKeptPolicy();
            } catch (AgentException | LabException e) {
                err.println("septum: " + e.getMessage());
                return 3;
            }
            NetLab lab;
            try {
                lab = NetLab.create('d');
            } catch (LabException e) {
                err.println("septum: " + e.getMessage());
                return 3;
            }
            AgentSession session = new AgentSession(client, line -> {
                err.println(line);
                err.flush();
            });
            Thread hook = new Thread(() -> {
                session.close();
                lab.close();
            }, "septum-demo-cleanup");
            if (!keep) {
            lab.closeOnShutdownByCaller();
            Runtime.getRuntime().addShutdownHook(hook);
        }
            Thread monitor = null;
            boolean serviceAdded = false;
            try {
                build(lab, session);
                monitor = startMonitor();

                step("septum endpoint list");
                out.print(Views.endpoints(client.list("/v1/endpoints", Endpoint.class)).render());

                String vip = "10.199." + lab.subnet() + ".200";
                step("septum service add deathstar --frontend " + vip + ":80 --backend deathstar-1 --backend deathstar-2");
                Service svc = client.post("/v1/services", new ServiceSpec("deathstar", "default", vip + ":80",
                        List.of("deathstar-1", "deathstar-2")), Service.class);
                serviceAdded = true;
                out.print(Views.services(List.of(svc)).render());
                awaitResolvable(lab, "xwing", Duration.ofSeconds(10));

                comment("Without a policy every ship may land, and anybody may explode the deathstar:");
                request(lab, "xwing", "POST", "/v1/request-landing", Outcome.LANDED);
                request(lab, "tiefighter", "POST", "/v1/request-landing", Outcome.LANDED);
                request(lab, "tiefighter", "PUT", "/v1/exhaust-port", Outcome.EXPLODED);

                String policy = policyText();
                step("septum policy import " + policyPath().map(Path::toString).orElse("examples/" + POLICY_FILE));
                List<PolicyInfo> parsed = List.of(new PolicyInfo("rule1", "default", "CiliumNetworkPolicy", 0, ORIGIN,
                        List.of(), List.of(), policy));
                ImportResult r = session.importPolicies(ORIGIN, policy, parsed);
                out.println("Imported " + r.policies().size() + " policies, revision " + r.revision());
                session.awaitRevision(r.revision(), Duration.ofSeconds(30));

                comment("rule1 admits only org=empire, on port 80/TCP, and only POST /v1/request-landing:");
                request(lab, "tiefighter", "PUT", "/v1/exhaust-port", Outcome.ACCESS_DENIED);
                request(lab, "tiefighter", "POST", "/v1/request-landing", Outcome.LANDED);
                request(lab, "xwing", "POST", "/v1/request-landing", Outcome.DROPPED);

                step("septum endpoint list");
                out.print(Views.endpoints(client.list("/v1/endpoints", Endpoint.class)).render());
                step("septum service list");
                out.print(Views.services(client.list("/v1/services", Service.class)).render());
                step("septum policy list");
                out.print(Views.policies(client.list("/v1/policies", PolicyInfo.class)).render());

                String tiefighter = nodes.get("tiefighter").ip();
                step("septum observe --type l7 --from-ip " + tiefighter + "   # the tiefighter's requests, judged by the proxy");
                List<Flow> l7 = awaitFlows("?last=20&type=l7&from-ip=" + tiefighter,
                        fl -> fl.stream().anyMatch(f -> Flow.DROPPED.equals(f.verdict())), Duration.ofSeconds(5));
                l7.forEach(f -> out.println(Views.flow(f)));
                if (l7.stream().noneMatch(f -> Flow.DROPPED.equals(f.verdict()))) {
                    failures.add("no DROPPED L7 flow for the tiefighter's PUT within 5 s on /v1/flows");
                }
                String xwing = nodes.get("xwing").ip();
                step("septum monitor --type drop   # the xwing's dropped packets (" + xwing + ")");
                List<DatapathEvent> drops = awaitDrops(xwing, Duration.ofSeconds(3));
                drops.forEach(e -> out.println(Views.event(e)));
                if (drops.isEmpty()) failures.add("no drop event for the xwing (" + xwing + ") within 3 s on /v1/monitor");
            } catch (AgentException | LabException | IllegalArgumentException e) {
                failures.add(e.getMessage());
            } finally {
                if (monitor != null) monitor.interrupt();
                if (keep) {
                    lab.keep();
                    out.println();
                    out.println("--keep: the demo stays up (lab " + lab.runId() + "); the next 'septum demo starwars'"
                            + " replaces it");
                } else {
                    if (serviceAdded) deleteService();
                    session.close();
                    lab.close();
                    try {
                        Runtime.getRuntime().removeShutdownHook(hook);
                    } catch (IllegalStateException ignored) {
                        // shutting down: the hook runs anyway
                    }
                }
            }
            out.println();
            if (failures.isEmpty()) {
                out.println("Star Wars demo: OK");
                out.flush();
                return 0;
            }
            out.println("Star Wars demo: FAILED: " + String.join("; ", failures));
            out.flush();
            return 1;
        }

        private void build(NetLab lab, AgentSession session) {
            long t0 = System.nanoTime();
            err.print("septum: creating deathstar-1, deathstar-2, tiefighter, xwing as network namespaces... ");
            err.flush();
            Map<String, Map<String, String>> ships = new LinkedHashMap<>();
            ships.put("deathstar-1", labels("empire", "deathstar"));
            ships.put("deathstar-2", labels("empire", "deathstar"));
            ships.put("tiefighter", labels("empire", "tiefighter"));
            ships.put("xwing", labels("alliance", "xwing"));
            for (String name : ships.keySet()) nodes.put(name, lab.addEndpoint(name));
            lab.listen(nodes.get("deathstar-1"), List.of(new NetLab.Port(80, "TCP")));
            lab.listen(nodes.get("deathstar-2"), List.of(new NetLab.Port(80, "TCP")));
            lab.awaitListening(Duration.ofSeconds(10));
            for (Map.Entry<String, Map<String, String>> s : ships.entrySet()) {
                session.register(nodes.get(s.getKey()), s.getKey(), "default", s.getValue(), lab.runId());
            }
            session.awaitReady(Duration.ofSeconds(30));
            err.println("ready in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            err.flush();
        }

        private static Map<String, String> labels(String org, String cls) {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("org", org);
            m.put("class", cls);
            m.put("app.kubernetes.io/name", cls);
            return m;
        }

        /** A policy named rule1 that a kept demo imported is ours to replace; anybody else's is not. */
        private void removeKeptPolicy() {
            for (PolicyInfo p : client.list("/v1/policies", PolicyInfo.class)) {
                if (!"rule1".equals(p.name()) || !"default".equals(p.namespace())) continue;
                if (ORIGIN.equals(p.origin())) {
                    client.delete("/v1/policies/default/rule1");
                } else {
                    throw new LabException("the agent already holds policy default/rule1 (from " + p.origin()
                            + "); the demo imports its own rule1. Delete it first: septum policy delete rule1 -n default");
                }
            }
        }

        private Thread startMonitor() {
            Thread t = new Thread(() -> {
                try {
                    client.stream("/v1/monitor", line -> {
                        try {
                            events.add(client.mapper().readValue(line, DatapathEvent.class));
                        } catch (IOException e) {
                            // a line that is not an event (keep-alive, newer format): skip it
                        }
                    });
                } catch (AgentException e) {
                    if (!Thread.currentThread().isInterrupted()) err.println("septum: monitor stream: " + e.getMessage());
                }
            }, "septum-demo-monitor");
            t.setDaemon(true);
            t.start();
            return t;
        }

        private List<DatapathEvent> awaitDrops(String ip, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                List<DatapathEvent> drops = events.stream()
                        .filter(e -> "DROPPED".equals(e.verdict()) && ip.equals(e.srcIp())).toList();
                if (!drops.isEmpty() || System.nanoTime() > deadline) return drops;
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return drops;
                }
            }
        }

        /** What a request should come to, and how the demo recognises it. */
        enum Outcome {
            LANDED("Ship landed"), EXPLODED("Panic: deathstar exploded"), ACCESS_DENIED("Access denied"), DROPPED(null);

            final String body;

            Outcome(String body) {
                this.body = body;
            }
        }

        /** {@code kubectl exec FROM -- curl -s -XMETHOD deathstar.default.svc.cluster.local/PATH}, as in the seed. */
        private void request(NetLab lab, String from, String method, String path, Outcome expected) {
            step(from + " -> curl -s -X" + method + " " + DEATHSTAR + path);
            NetLab.HttpReply r = lab.http(nodes.get(from), method, "http://" + DEATHSTAR + path, CURL_TIMEOUT);
            if (r.exit() == 0) {
                out.println(r.body().strip());
            } else {
                out.println("command terminated with exit code " + r.exit() + explain(r.exit()));
            }
            String what = from + "'s " + method + " " + path;
            if (expected == Outcome.DROPPED) {
                if (r.exit() != 28) failures.add(what + " was not dropped (curl exit " + r.exit() + ", HTTP " + r.status() + ")");
            } else if (r.exit() != 0 || !r.body().strip().equals(expected.body)
                    || (expected == Outcome.ACCESS_DENIED) != (r.status() == 403)) {
                failures.add(what + ": expected HTTP " + (expected == Outcome.ACCESS_DENIED ? "403" : "200") + " '"
                        + expected.body + "', got curl exit " + r.exit() + ", HTTP " + r.status() + " '" + r.body().strip()
                        + "'" + (r.error().isEmpty() ? "" : " (" + r.error() + ")"));
            }
        }

        /** The hosts entry is written by the agent's services bundle after the add; wait until the name resolves. */
        private void awaitResolvable(NetLab lab, String from, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!lab.resolves(nodes.get(from), DEATHSTAR)) {
                if (System.nanoTime() > deadline) {
                    throw new LabException(DEATHSTAR + " does not resolve in " + from + " within " + timeout.toSeconds()
                            + " s: the agent writes /etc/netns/<netns>/hosts for services (see 'septum status', services)");
                }
                pause(100);
            }
        }

        private List<Flow> awaitFlows(String query, Predicate<List<Flow>> done, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                List<Flow> flows = client.list("/v1/flows" + query, Flow.class);
                if (done.test(flows) || System.nanoTime() > deadline) return flows;
                pause(100);
            }
        }

        private void deleteService() {
            try {
                client.delete("/v1/services/deathstar");
            } catch (AgentException e) {
                err.println("septum: could not delete the demo's deathstar service: " + e.getMessage());
            }
        }

        private static void pause(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LabException("interrupted", e);
            }
        }

        private static String explain(int exit) {
            return switch (exit) {
                case 28 -> " (connection timed out: dropped by policy)";
                case 7 -> " (connection refused)";
                default -> "";
            };
        }

        private void step(String command) {
            out.println();
            out.println("$ " + command);
            out.flush();
        }

        private void comment(String text) {
            out.println();
            out.println("# " + text);
            out.flush();
        }
    }

    /** The policy as shipped in {@code <home>/examples/}, or the built-in copy. */
    static String policyText() {
        return policyPath().map(p -> {
            try {
                return Files.readString(p);
            } catch (IOException e) {
                return POLICY;
            }
        }).orElse(POLICY);
    }

    static java.util.Optional<Path> policyPath() {
        List<Path> candidates = new ArrayList<>();
        String home = System.getProperty("septum.home", System.getenv("SEPTUM_HOME"));
        if (home != null && !home.isBlank()) candidates.add(Path.of(home, "examples", POLICY_FILE));
        try {
            Path jar = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (jar.getParent() != null && jar.getParent().getParent() != null) {
                candidates.add(jar.getParent().getParent().resolve("examples").resolve(POLICY_FILE));
            }
        } catch (Exception ignored) {
            // no code source: the built-in copy is used
        }
        candidates.add(Path.of("config", "examples", POLICY_FILE));
        return candidates.stream().filter(Files::isRegularFile).findFirst().map(p -> p.toAbsolutePath().normalize());
    }
}
