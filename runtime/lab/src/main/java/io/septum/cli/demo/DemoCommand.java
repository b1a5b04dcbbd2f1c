package io.septum.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.septum.api.Endpoint;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.flow.Flow;
import io.septum.api.policy.ImportResult;
import io.septum.api.policy.PolicyInfo;
import io.septum.api.service.Service;
import io.septum.api.service.ServiceSpec;
import io.septum.view.Views;
import io.septum.cli.AgentClient;
import io.septum.cli.AgentException;
import io.septum.cli.SeptumCommand;
import io.septum.cli.connectivity.AgentSession;
import io.septum.cli.connectivity.ConnectivityCommand;
import io.septum.cli.connectivity.LabException;
import io.septum.cli.connectivity.NetLab;
import io.septum.cli.connectivity.ShutdownCleanup;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code septum demo starwars}: the seed's Star Wars demo (section 3: the deathstar service and the L7 rule) on
 * real network-namespace endpoints against the running agent, played from its data in {@code examples/starwars/}
 * ({@link DemoScript}); {@code septum demo run DIR} plays another folder of the same shape. It joins the
 * {@code septum} root command as a {@link SeptumCommand} (ServiceLoader).
 */
@Command(name = "demo", description = "Demos on real network-namespace endpoints.", mixinStandardHelpOptions = true,
        subcommands = {DemoCommand.StarWars.class, DemoCommand.Run.class})
public class DemoCommand implements SeptumCommand {
    static final Duration CURL_TIMEOUT = Duration.ofSeconds(2);

    @Command(name = "starwars", mixinStandardHelpOptions = true,
            description = "The seed's Star Wars demo against the running agent: deathstar-1 and deathstar-2 behind the"
                    + " deathstar service, tiefighter and xwing, as network-namespace endpoints. Before the policy both ships"
                    + " land and the tiefighter's PUT explodes the deathstar; with sw_l3_l4_l7_policy.yaml the PUT gets"
                    + " 'Access denied', the POST lands and the xwing is dropped. Exit 0 when every expected outcome was"
                    + " seen. Cleans up on exit unless --keep. Its steps are examples/starwars/demo.yaml.")
    public static class StarWars extends PlayCommand {
        @Override
        public Integer call() {
            return play(() -> DemoScript.load("starwars"), "septum demo starwars");
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Play the demo in DIR (a demo.yaml and its policy file, shaped like examples/starwars/) against"
                    + " the running agent. Exit 0 when every expected outcome was seen. Cleans up on exit unless --keep.")
    public static class Run extends PlayCommand {
        @Parameters(paramLabel = "DIR", description = "The demo's folder.")
        Path dir;

        @Override
        public Integer call() {
            return play(() -> DemoScript.load(dir, dir.toString()), "septum demo run " + dir);
        }
    }

    /** What both demo commands share: {@code --keep}, and playing a demo script against the agent. */
    abstract static class PlayCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--keep", description = "Leave the endpoints, the policy and the namespaces in place (the next run replaces them).")
        boolean keep;

        /** Loads the script (a bad one is exit 2) and plays it; {@code command} is how the output names the run. */
        final int play(java.util.function.Supplier<DemoScript> script, String command) {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            DemoScript s;
            try {
                s = script.get();
            } catch (LabException e) {
                err.println("septum: " + e.getMessage());
                return 2;
            }
            try (AgentClient client = ConnectivityCommand.CliOptions.client(spec)) {
                return new Demo(s, command, client, out, err, keep).run();
            }
        }
    }

    /** One run of a demo: its steps, in order, printed as a person would type them, each checked. */
    static final class Demo {
        private final DemoScript script;
        /** How the operator ran this demo, for the --keep note. */
        private final String command;
        private final AgentClient client;
        private final PrintWriter out;
        private final PrintWriter err;
        private final boolean keep;
        /** The origin the demo imports its policy under, so that a later run recognises a kept demo's policy. */
        private final String origin;
        private final List<String> failures = new ArrayList<>();
        private final List<DatapathEvent> events = new CopyOnWriteArrayList<>();
        private final Map<String, NetLab.Node> nodes = new LinkedHashMap<>();
        private final List<PolicyInfo> policies;
        private Thread monitor;
        private boolean serviceAdded;

        Demo(DemoScript script, String command, AgentClient client, PrintWriter out, PrintWriter err, boolean keep) {
            this.script = script;
            this.command = command;
            this.client = client;
            this.out = out;
            this.err = err;
            this.keep = keep;
            this.origin = "septum-demo:" + Path.of(script.policy()).getFileName();
            this.policies = policiesOf(script.policyText(), script.namespace(), origin);
        }

        int run() {
            try {
                client.get("/v1/status", io.septum.api.AgentStatus.class);
                AgentSession.removeLeftovers(client, "d");
                NetLab.cleanupStale("d");
                removeKeptPolicies();
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
            ShutdownCleanup hook = ShutdownCleanup.install("septum-demo-cleanup", () -> {
                session.close();
                lab.close();
            }, keep, lab::closeOnShutdownByCaller);
            try {
                build(lab, session);
                monitor = startMonitor();
                for (DemoScript.Step step : script.steps()) play(step, lab, session);
            } catch (AgentException | LabException | IllegalArgumentException e) {
                failures.add(e.getMessage());
            } finally {
                if (monitor != null) monitor.interrupt();
                if (keep) {
                    lab.keep();
                    out.println();
                    out.println("--keep: the demo stays up (lab " + lab.runId() + "); the next '" + command + "'"
                            + " replaces it");
                } else {
                    if (serviceAdded) deleteService();
                    session.close();
                    lab.close();
                    hook.remove();
                }
            }
            out.println();
            if (failures.isEmpty()) {
                out.println(script.title() + ": OK");
                out.flush();
                return 0;
            }
            out.println(script.title() + ": FAILED: " + String.join("; ", failures));
            out.flush();
            return 1;
        }

        private void play(DemoScript.Step step, NetLab lab, AgentSession session) {
            switch (step.kind()) {
                case "list" -> list(step.list());
                case "add-service" -> addService(lab);
                case "comment" -> comment(step.comment());
                case "request" -> request(lab, step.request());
                case "import-policy" -> importPolicy(session);
                case "observe" -> observe(step.observe());
                case "monitor" -> monitor(step.monitor());
                default -> throw new IllegalArgumentException("unknown step " + step.kind());
            }
        }

        private void list(String what) {
            step("septum " + switch (what) {
                case "endpoints" -> "endpoint";
                case "services" -> "service";
                case "policies" -> "policy";
                default -> throw new IllegalArgumentException("list: endpoints, services or policies, not " + what);
            } + " list");
            switch (what) {
                case "endpoints" -> out.print(Views.endpoints(client.list("/v1/endpoints", Endpoint.class)).render());
                case "services" -> out.print(Views.services(client.list("/v1/services", Service.class)).render());
                default -> out.print(Views.policies(client.list("/v1/policies", PolicyInfo.class)).render());
            }
        }

        private void addService(NetLab lab) {
            DemoScript.ServiceDef d = service();
            String frontend = "10.199." + lab.subnet() + "." + d.vip() + ":" + d.port();
            StringBuilder cmd = new StringBuilder("septum service add " + d.name() + " --frontend " + frontend);
            for (String b : d.backends()) cmd.append(" --backend ").append(b);
            step(cmd.toString());
            Service svc = client.post("/v1/services", new ServiceSpec(d.name(), script.namespace(), frontend, d.backends()),
                    Service.class);
            serviceAdded = true;
            out.print(Views.services(List.of(svc)).render());
            // the agent writes the service's name into the endpoints' hosts files: wait until the first client sees it
            script.steps().stream().filter(s -> s.request() != null).findFirst()
                    .ifPresent(s -> awaitResolvable(lab, s.request().from(), Duration.ofSeconds(10)));
        }

        private void importPolicy(AgentSession session) {
            step("septum policy import " + script.policyShownAs());
            ImportResult r = session.importPolicies(origin, script.policyText(), policies);
            out.println("Imported " + r.policies().size() + " policies, revision " + r.revision());
            session.awaitRevision(r.revision(), Duration.ofSeconds(30));
        }

        private void observe(DemoScript.Watch w) {
            String ip = node(w.from()).ip();
            String type = w.type() == null ? "l7" : w.type();
            step("septum observe --type " + type + " --from-ip " + ip + note(w));
            String verdict = w.expect();
            List<Flow> flows = awaitFlows("?last=20&type=" + type + "&from-ip=" + ip,
                    fl -> verdict == null ? !fl.isEmpty() : fl.stream().anyMatch(f -> verdict.equals(f.verdict())),
                    Duration.ofSeconds(5));
            flows.forEach(f -> out.println(Views.flow(f)));
            if (verdict == null ? flows.isEmpty() : flows.stream().noneMatch(f -> verdict.equals(f.verdict()))) {
                failures.add("no " + (verdict == null ? "" : verdict + " ") + type.toUpperCase(java.util.Locale.ROOT)
                        + " flow from " + w.from() + " within 5 s on /v1/flows");
            }
        }

        private void monitor(DemoScript.Watch w) {
            String ip = node(w.from()).ip();
            String type = w.type() == null ? "drop" : w.type();
            if (!"drop".equals(type)) throw new IllegalArgumentException("monitor: only type drop is played, not " + type);
            step("septum monitor --type drop" + (w.note() == null ? "" : "   # " + w.note() + " (" + ip + ")"));
            List<DatapathEvent> drops = awaitDrops(ip, Duration.ofSeconds(3));
            drops.forEach(e -> out.println(Views.event(e)));
            if (drops.isEmpty()) failures.add("no drop event for the " + w.from() + " (" + ip + ") within 3 s on /v1/monitor");
        }

        private static String note(DemoScript.Watch w) {
            return w.note() == null ? "" : "   # " + w.note();
        }

        private DemoScript.ServiceDef service() {
            if (script.service() == null) throw new IllegalArgumentException("the demo has an add-service step but no service");
            return script.service();
        }

        private NetLab.Node node(String name) {
            NetLab.Node n = nodes.get(name);
            if (n == null) throw new IllegalArgumentException("the demo names endpoint \"" + name + "\", which it does not declare");
            return n;
        }

        private String host() {
            return service().name() + "." + script.namespace() + ".svc.cluster.local";
        }

        private void build(NetLab lab, AgentSession session) {
            long t0 = System.nanoTime();
            List<String> names = script.endpoints().stream().map(DemoScript.EndpointDef::name).toList();
            err.print("septum: creating " + String.join(", ", names) + " as network namespaces... ");
            err.flush();
            for (DemoScript.EndpointDef e : script.endpoints()) nodes.put(e.name(), lab.addEndpoint(e.name()));
            boolean listening = false;
            for (DemoScript.EndpointDef e : script.endpoints()) {
                if (e.listen().isEmpty()) continue;
                lab.listen(nodes.get(e.name()), e.ports());
                listening = true;
            }
            if (listening) lab.awaitListening(Duration.ofSeconds(10));
            for (DemoScript.EndpointDef e : script.endpoints()) {
                session.register(nodes.get(e.name()), e.name(), script.namespace(), e.labels(), lab.runId());
            }
            session.awaitReady(Duration.ofSeconds(30));
            err.println("ready in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            err.flush();
        }

        /** The policies in the demo's file, as the import will name them (to delete them when the demo ends). */
        static List<PolicyInfo> policiesOf(String yaml, String namespace, String origin) {
            List<PolicyInfo> out = new ArrayList<>();
            try (var parser = new YAMLFactory().createParser(yaml)) {
                ObjectMapper mapper = new ObjectMapper();
                for (JsonNode doc : mapper.readValues(parser, JsonNode.class).readAll()) {
                    if (doc == null || doc.isMissingNode() || doc.isNull()) continue;
                    String kind = doc.path("kind").asText("");
                    String ns = kind.startsWith("CiliumClusterwide") ? ""
                            : doc.path("metadata").path("namespace").asText(namespace);
                    out.add(new PolicyInfo(doc.path("metadata").path("name").asText(), ns, kind, 0, origin,
                            List.of(), List.of(), yaml));
                }
            } catch (IOException e) {
                throw new LabException("the demo's policy file is not YAML: " + e.getMessage(), e);
            }
            return out;
        }

        /** A policy of the demo's that a kept demo imported is ours to replace; anybody else's is not. */
        private void removeKeptPolicies() {
            for (PolicyInfo p : client.list("/v1/policies", PolicyInfo.class)) {
                for (PolicyInfo mine : policies) {
                    if (!mine.name().equals(p.name()) || !Objects.equals(blankToNull(mine.namespace()), blankToNull(p.namespace()))) {
                        continue;
                    }
                    String path = "/v1/policies/" + (blankToNull(p.namespace()) == null ? "-" : p.namespace()) + "/" + p.name();
                    if (origin.equals(p.origin())) {
                        client.delete(path);
                    } else {
                        String ns = blankToNull(p.namespace());
                        throw new LabException("the agent already holds policy " + (ns == null ? "" : ns + "/") + p.name()
                                + " (from " + p.origin() + "); the demo imports its own " + p.name() + ". Delete it first:"
                                + " septum policy delete " + p.name() + (ns == null ? "" : " -n " + ns));
                    }
                }
            }
        }

        private static String blankToNull(String s) {
            return s == null || s.isEmpty() ? null : s;
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

        /** {@code kubectl exec FROM -- curl -s -XMETHOD <service>.<namespace>.svc.cluster.local/PATH}, as in the seed. */
        private void request(NetLab lab, DemoScript.Request q) {
            String host = host();
            step(q.from() + " -> curl -s -X" + q.method() + " " + host + q.path());
            NetLab.HttpReply r = lab.http(node(q.from()), q.method(), "http://" + host + q.path(), CURL_TIMEOUT);
            if (r.exit() == 0) {
                out.println(r.body().strip());
            } else {
                out.println("command terminated with exit code " + r.exit() + explain(r.exit()));
            }
            String what = q.from() + "'s " + q.method() + " " + q.path();
            int status = q.status() == null ? 200 : q.status();
            String body = q.body() == null ? "" : q.body();
            if (q.dropped()) {
                if (r.exit() != 28) failures.add(what + " was not dropped (curl exit " + r.exit() + ", HTTP " + r.status() + ")");
            } else if (r.exit() != 0 || !r.body().strip().equals(body) || r.status() != status) {
                failures.add(what + ": expected HTTP " + status + " '" + body + "', got curl exit " + r.exit() + ", HTTP "
                        + r.status() + " '" + r.body().strip() + "'" + (r.error().isEmpty() ? "" : " (" + r.error() + ")"));
            }
        }

        /** The hosts entry is written by the agent's services bundle after the add; wait until the name resolves. */
        private void awaitResolvable(NetLab lab, String from, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            String host = host();
            while (!lab.resolves(node(from), host)) {
                if (System.nanoTime() > deadline) {
                    throw new LabException(host + " does not resolve in " + from + " within " + timeout.toSeconds()
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
            String name = script.service().name();
            try {
                client.delete("/v1/services/" + name);
            } catch (AgentException e) {
                err.println("septum: could not delete the demo's " + name + " service: " + e.getMessage());
            }
        }

        private static void pause(long ms) {
            LabException.pause(ms, "interrupted");
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
}
