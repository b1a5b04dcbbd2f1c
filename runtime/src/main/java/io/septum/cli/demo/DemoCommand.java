package io.septum.cli.demo;

import io.septum.api.Endpoint;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.view.Views;
import io.septum.cli.AgentClient;
import io.septum.cli.AgentException;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code septum demo starwars}: the seed's L3/L4 Star Wars demo on real network-namespace endpoints against the
 * running agent. Register this class as a subcommand of the {@code septum} root command.
 */
@Command(name = "demo", description = "Demos on real network-namespace endpoints.", mixinStandardHelpOptions = true,
        subcommands = DemoCommand.StarWars.class)
public class DemoCommand {
    static final String POLICY_FILE = "sw_l3_l4_policy.yaml";
    /** The origin the demo imports its policy under, so that a later run recognises a kept demo's policy. */
    static final String ORIGIN = "septum-demo:" + POLICY_FILE;
    static final Duration CURL_TIMEOUT = Duration.ofSeconds(2);

    /** The seed's rule1 without the {@code rules:} block; used when the examples folder cannot be found. */
    static final String POLICY = String.join("\n",
            "apiVersion: \"cilium.io/v2\"",
            "kind: CiliumNetworkPolicy",
            "metadata:",
            "  name: \"rule1\"",
            "spec:",
            "  description: \"L3-L4 policy to restrict deathstar access to empire ships only\"",
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
            "");

    @Command(name = "starwars", mixinStandardHelpOptions = true,
            description = "The seed's Star Wars demo at L3/L4 against the running agent: deathstar-1, deathstar-2, tiefighter"
                    + " and xwing as network-namespace endpoints; both ships land; rule1 is applied; the tiefighter lands and"
                    + " the xwing is dropped. Exit 0 when every expected outcome was seen. Cleans up on exit unless --keep.")
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
            try {
                build(lab, session);
                monitor = startMonitor();

                step("septum endpoint list");
                out.print(Views.endpoints(client.list("/v1/endpoints", Endpoint.class)).render());

                comment("Without a policy every ship may land:");
                expectLanding(lab, "xwing", "deathstar-1");
                expectLanding(lab, "tiefighter", "deathstar-1");

                String policy = policyText();
                step("septum policy import " + policyPath().map(Path::toString).orElse("examples/" + POLICY_FILE));
                List<PolicyInfo> parsed = List.of(new PolicyInfo("rule1", "default", "CiliumNetworkPolicy", 0, ORIGIN,
                        List.of(), List.of(), policy));
                ImportResult r = session.importPolicies(ORIGIN, policy, parsed);
                out.println("Imported " + r.policies().size() + " policies, revision " + r.revision());
                session.awaitRevision(r.revision(), Duration.ofSeconds(30));

                comment("rule1 admits only org=empire to the deathstars, on port 80/TCP:");
                expectLanding(lab, "tiefighter", "deathstar-1");
                expectLanding(lab, "tiefighter", "deathstar-2");
                expectDrop(lab, "xwing", "deathstar-1");

                step("septum endpoint list");
                out.print(Views.endpoints(client.list("/v1/endpoints", Endpoint.class)).render());
                step("septum policy list");
                out.print(Views.policies(client.list("/v1/policies", PolicyInfo.class)).render());
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

        private String curlCommand(String from, String to) {
            return from + " -> curl -s -XPOST " + to + "/v1/request-landing";
        }

        private NetLab.HttpReply curl(NetLab lab, String from, String to) {
            return lab.http(nodes.get(from), "POST", "http://" + nodes.get(to).ip() + "/v1/request-landing", CURL_TIMEOUT);
        }

        private void expectLanding(NetLab lab, String from, String to) {
            step(curlCommand(from, to));
            NetLab.HttpReply r = curl(lab, from, to);
            if (r.exit() == 0) {
                out.println(r.body().strip());
            } else {
                out.println("command terminated with exit code " + r.exit() + explain(r.exit()));
            }
            if (r.exit() != 0 || !r.body().contains("Ship landed")) {
                failures.add(from + " could not land on " + to + " (curl exit " + r.exit()
                        + (r.error().isEmpty() ? "" : ": " + r.error()) + ")");
            }
        }

        private void expectDrop(NetLab lab, String from, String to) {
            step(curlCommand(from, to));
            NetLab.HttpReply r = curl(lab, from, to);
            if (r.exit() == 0) {
                out.println(r.body().strip());
            } else {
                out.println("command terminated with exit code " + r.exit() + explain(r.exit()));
            }
            if (r.exit() != 28) failures.add(from + " was not dropped on its way to " + to + " (curl exit " + r.exit() + ")");
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
