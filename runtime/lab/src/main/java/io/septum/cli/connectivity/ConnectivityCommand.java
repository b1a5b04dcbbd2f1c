package io.septum.cli.connectivity;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.septum.api.policy.CaseResult;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.TestCase;
import io.septum.api.policy.ValidationError;
import io.septum.view.EvalJson;
import io.septum.view.Views;
import io.septum.cli.AgentClient;
import io.septum.cli.SeptumCommand;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code septum connectivity test --case CASE.yaml}: a corpus case with real packets between network namespaces,
 * against the running agent. It joins the {@code septum} root command as a {@link SeptumCommand} (ServiceLoader).
 */
@Command(name = "connectivity", description = "Probe the agent's enforcement with real packets between network namespaces or Docker containers.",
        subcommands = ConnectivityCommand.Test.class, mixinStandardHelpOptions = true)
public class ConnectivityCommand implements SeptumCommand {

    @Command(name = "test", mixinStandardHelpOptions = true,
            description = "Run a policy test case (corpus format) with real packets against the running agent: it creates a"
                    + " network namespace (with --runtime docker: a container) per endpoint and one per external host, starts TCP/UDP echo and HTTP listeners, registers the"
                    + " endpoints, imports the policies, probes every path and removes everything it made. Exit 0 when every"
                    + " probe matches, 1 when one does not, 2 on invalid input, 3 on an agent or lab error."
                    + " An http: probe is a real request made with curl in the client's namespace: an HTTP 2xx is allow;"
                    + " 403 Access denied (the L7 proxy) or no answer within the timeout (an L3/L4 drop) is deny."
                    + " A protocol: ICMP probe is one IPv4 echo request (busybox ping): a reply is allow, none is deny."
                    + " With --nodes N (2-8) it does not use the running agent: it starts a cluster on this machine, an etcd"
                    + " and N nodes (network namespaces joined by an underlay with native routing, each with its own agent in"
                    + " cluster mode), spreads the endpoints over the nodes and imports the policies as cluster policies, so"
                    + " that every probe between endpoints of different nodes crosses nodes with real packets."
                    + " Several --case options run one after the other on the same lab.")
    public static class Test implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--case", required = true, paramLabel = "CASE.yaml",
                description = "The test case file; repeat it to run several cases in turn (with -o json: a list of results).")
        List<Path> caseFiles;

        @Option(names = "--nodes", defaultValue = "1", paramLabel = "N",
                description = "1: the running agent's host. 2-" + LabCluster.MAX_NODES + ": a multi-node cluster on this"
                        + " machine, started for the run and removed after it (endpoints placed by the case's node: field,"
                        + " else round-robin). Default: ${DEFAULT-VALUE}.")
        int nodes;

        @Option(names = "--etcd-endpoints", paramLabel = "URL",
                description = "With --nodes: an http:// etcd for the nodes (e.g. from scripts/test-etcd.sh) instead of a"
                        + " private one started from the etcd binary on the lab's own address.")
        String etcdEndpoints;

        @Option(names = "--timeout", defaultValue = "1s", paramLabel = "DURATION",
                description = "How long a probe waits for an answer before it counts as denied (e.g. 1s, 500ms; a dns: lookup"
                        + " waits 2 s more, as the DNS proxy may hold an answer until its allows are in place)."
                        + " Default: ${DEFAULT-VALUE}.")
        String timeout;

        @Option(names = "--keep", description = "Leave the namespaces, endpoints and policies in place after the test (the next run removes"
                + " the namespaces and endpoints; delete the policies with 'septum policy delete').")
        boolean keep;

        @Option(names = "--runtime", defaultValue = "netns", paramLabel = "netns|docker",
                description = "What the case's endpoints are: network namespaces registered through the netns source, or"
                        + " Docker containers on a network the test creates, which the agent's docker source (deployed"
                        + " in the agent) turns into endpoints. Default: ${DEFAULT-VALUE}.")
        String runtime;

        @Option(names = "--docker-host", defaultValue = DockerLab.DEFAULT_HOST, paramLabel = "URL",
                description = "With --runtime docker: the engine the agent's docker source watches. Default: ${DEFAULT-VALUE}.")
        String dockerHost;

        @Option(names = "--image", defaultValue = DockerLab.DEFAULT_IMAGE, paramLabel = "IMAGE",
                description = "With --runtime docker: the container image, already in the engine (never pulled), with"
                        + " busybox sh, nc, sleep and cat. Default: ${DEFAULT-VALUE}.")
        String image;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            String output = CliOptions.output(spec);
            Duration probeTimeout;
            try {
                probeTimeout = CliOptions.duration(timeout);
            } catch (IllegalArgumentException e) {
                err.println("septum: --timeout: " + e.getMessage());
                return CaseRunner.EXIT_INVALID;
            }
            PolicyEngine engine = ServiceLoader.load(PolicyEngine.class).findFirst().orElse(null);
            if (engine == null) {
                err.println("septum: the policy engine (septum-policy) is not on the classpath; reinstall the distribution");
                return CaseRunner.EXIT_ERROR;
            }
            // every case is read and checked before anything is made
            Map<String, TestCase> cases = new LinkedHashMap<>();
            for (Path caseFile : caseFiles) {
                String text;
                try {
                    text = Files.readString(caseFile);
                } catch (IOException e) {
                    err.println("septum: cannot read " + caseFile + ": " + e.getMessage());
                    return CaseRunner.EXIT_INVALID;
                }
                try {
                    cases.put(caseFile.toString(), CaseRunner.validate(engine, caseFile.toString(), text));
                } catch (PolicyValidationException e) {
                    for (ValidationError v : e.errors()) err.println(v.message());
                    return CaseRunner.EXIT_INVALID;
                }
            }
            if (nodes < 1 || nodes > LabCluster.MAX_NODES) {
                err.println("septum: --nodes: " + nodes + " is outside 1-" + LabCluster.MAX_NODES);
                return CaseRunner.EXIT_INVALID;
            }
            if (nodes > 1 && !"netns".equals(runtime)) {
                err.println("septum: --nodes: a multi-node lab is made of network namespaces; it does not take --runtime " + runtime);
                return CaseRunner.EXIT_INVALID;
            }
            if (nodes > 1 && keep && cases.size() > 1) {
                err.println("septum: --keep with --nodes takes one --case: a kept case's bridges keep their node's subnet,"
                        + " which the next case needs");
                return CaseRunner.EXIT_INVALID;
            }
            if (nodes == 1 && etcdEndpoints != null) {
                err.println("septum: --etcd-endpoints needs --nodes 2 or more (one node runs against the running agent)");
                return CaseRunner.EXIT_INVALID;
            }
            LabRuntime.Factory labs;
            if ("netns".equals(runtime)) {
                labs = LabRuntime.netns();
            } else if ("docker".equals(runtime)) {
                labs = DockerLab.factory(dockerHost, image);
            } else {
                err.println("septum: --runtime: \"" + runtime + "\" is not a runtime (netns or docker)");
                return CaseRunner.EXIT_INVALID;
            }
            // closed before the JVM exits, which otherwise waits 300 ms for its I/O thread (AgentClient.close)
            try (AgentClient client = CliOptions.client(spec);
                 var progress = new java.io.PrintStream(new WriterOutputStream(err), true)) {
                if (nodes == 1) return runAll(cases, client, engine, progress, probeTimeout, labs, out, err, output);
                String home = System.getenv("SEPTUM_HOME");
                if (home == null || home.isBlank()) home = System.getProperty("septum.home");
                if (home == null || home.isBlank()) {
                    err.println("septum: --nodes starts agents from the installed distribution: run the septum command of an"
                            + " install, or set SEPTUM_HOME to it");
                    return CaseRunner.EXIT_ERROR;
                }
                LabCluster cluster;
                try {
                    cluster = LabCluster.start(nodes, etcdEndpoints, Path.of(home), Duration.ofSeconds(120), progress);
                } catch (IllegalArgumentException e) {
                    err.println("septum: " + e.getMessage());
                    return CaseRunner.EXIT_INVALID;
                } catch (LabException e) {
                    err.println("septum: connectivity test: " + e.getMessage());
                    return CaseRunner.EXIT_ERROR;
                }
                ShutdownCleanup hook = ShutdownCleanup.install("septum-cluster-cleanup", cluster::close, keep,
                        cluster::closeOnShutdownByCaller);
                try {
                    return runAll(cases, client, engine, progress, probeTimeout, cluster.runtime(), out, err, output);
                } finally {
                    if (keep) {
                        cluster.keep();
                        progress.println("septum: --keep: the nodes of lab " + cluster.runId() + " stay, with their agents"
                                + " (sockets under " + NetLab.stateBase().resolve(cluster.runId()) + "/node-*/run) and etcd "
                                + cluster.etcdUrl() + "; the next 'septum connectivity test' removes them");
                    } else {
                        long t0 = System.nanoTime();
                        cluster.close();
                        hook.remove();
                        progress.println("septum: stopped the nodes in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
                    }
                }
            }
        }

        /** Runs the cases in turn; prints each result (JSON: one object, or a list for several); the worst exit wins. */
        private int runAll(Map<String, TestCase> cases, AgentClient client, PolicyEngine engine, java.io.PrintStream progress,
                           Duration probeTimeout, LabRuntime.Factory labs, PrintWriter out, PrintWriter err, String output) {
            int exit = CaseRunner.EXIT_PASS;
            List<CaseResult> results = new ArrayList<>();
            for (Map.Entry<String, TestCase> c : cases.entrySet()) {
                TestCase tc = c.getValue();
                if (cases.size() > 1) progress.println("septum: case " + tc.name() + " (" + c.getKey() + ")");
                if ("docker".equals(labs.name()) && tc.probes().stream().anyMatch(p -> p.http() != null)) {
                    // L7 is judged by the proxy, which is not on the docker path yet
                    err.println("septum: connectivity test " + tc.name() + ": skipped: --runtime docker does not run"
                            + " cases with http: probes yet (run it with --runtime netns)");
                    continue;
                }
                if ("docker".equals(labs.name()) && (tc.probes().stream().anyMatch(p -> p.dns() != null)
                        || tc.endpoints().stream().anyMatch(TestCase.Endpoint::dns))) {
                    // the containers have no DNS server of the lab's
                    err.println("septum: connectivity test " + tc.name() + ": skipped: --runtime docker does not run"
                            + " cases with dns: endpoints or probes yet (run it with --runtime netns)");
                    continue;
                }
                CaseRunner.Outcome o = new CaseRunner(client, engine, progress, probeTimeout, keep, Duration.ofSeconds(30), labs)
                        .run(c.getKey(), tc);
                if (o.result() == null) {
                    err.println("septum: connectivity test " + tc.name() + ": " + o.error());
                } else if ("json".equals(output)) {
                    results.add(o.result());
                } else {
                    print(out, o.result(), output);
                }
                exit = Math.max(exit, o.exit());
            }
            if ("json".equals(output)) {
                if (cases.size() == 1 && results.size() == 1) print(out, results.get(0), output);
                else if (cases.size() > 1) printAll(out, results);
            }
            return exit;
        }
    }

    /** Prints the result as {@code policy eval} does: the probe table and a summary, or the same JSON shape. */
    static void print(PrintWriter out, CaseResult r, String output) {
        if ("json".equals(output)) {
            ObjectMapper m = AgentClient.newMapper().enable(SerializationFeature.INDENT_OUTPUT);
            try {
                out.println(m.writeValueAsString(EvalJson.of(r)));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        } else {
            out.print(Views.probes(r).render());
            out.println(r.passed() + " passed, " + r.failed() + " failed");
        }
        out.flush();
    }

    /** Several cases' results as one JSON list (a case that could not run has no entry; its error went to stderr). */
    static void printAll(PrintWriter out, List<CaseResult> results) {
        ObjectMapper m = AgentClient.newMapper().enable(SerializationFeature.INDENT_OUTPUT);
        try {
            out.println(m.writeValueAsString(results.stream().map(EvalJson::of).toList()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        out.flush();
    }

    /**
     * The CLI's global options, read from whichever command declares them, so this command (and {@code demo}) works
     * under any root.
     */
    public static final class CliOptions {
        private CliOptions() {
        }

        static String output(CommandSpec spec) {
            for (CommandSpec s = spec; s != null; s = s.parent()) {
                OptionSpec o = s.findOption("--output");
                if (o == null) o = s.findOption("-o");
                if (o != null && o.<Object>getValue() != null) return String.valueOf(o.<Object>getValue()).toLowerCase(Locale.ROOT);
            }
            return "table";
        }

        /** The agent client for {@code --socket}, else the environment's. */
        public static AgentClient client(CommandSpec spec) {
            for (CommandSpec s = spec; s != null; s = s.parent()) {
                OptionSpec o = s.findOption("--socket");
                if (o != null && o.<Object>getValue() != null && !String.valueOf(o.<Object>getValue()).isBlank()) {
                    return new AgentClient(Path.of(String.valueOf(o.<Object>getValue())));
                }
            }
            return AgentClient.fromEnvironment();
        }

        /** {@code 1s}, {@code 500ms}, {@code 1.5s}, or a plain number of seconds. */
        static Duration duration(String s) {
            String t = s.trim().toLowerCase(Locale.ROOT);
            try {
                Duration d;
                if (t.endsWith("ms")) d = Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2).trim()));
                else if (t.endsWith("s")) d = Duration.ofMillis(Math.round(Double.parseDouble(t.substring(0, t.length() - 1).trim()) * 1000));
                else d = Duration.ofMillis(Math.round(Double.parseDouble(t) * 1000));
                if (d.toMillis() < 100 || d.toMillis() > 30_000) {
                    throw new IllegalArgumentException(s + " is outside 100ms-30s");
                }
                return d;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad duration \"" + s + "\" (expected e.g. 1s or 500ms)");
            }
        }
    }

    /** Lets progress lines share picocli's error writer (tests capture it). */
    static final class WriterOutputStream extends java.io.OutputStream {
        private final PrintWriter w;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        WriterOutputStream(PrintWriter w) {
            this.w = w;
        }

        @Override
        public synchronized void write(int b) {
            line.write(b);
            if (b == '\n') flush();
        }

        @Override
        public synchronized void flush() {
            w.print(line.toString(java.nio.charset.StandardCharsets.UTF_8));
            w.flush();
            line.reset();
        }

        @Override
        public void close() {
            flush();
        }
    }
}
