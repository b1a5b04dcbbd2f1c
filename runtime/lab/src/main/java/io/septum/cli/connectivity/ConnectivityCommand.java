package io.septum.cli.connectivity;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.api.policy.CaseResult;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.ProbeResult;
import io.septum.api.policy.TestCase;
import io.septum.api.policy.ValidationError;
import io.septum.view.Views;
import io.septum.cli.AgentClient;
import io.septum.cli.SeptumCommand;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
                    + " 403 Access denied (the L7 proxy) or no answer within the timeout (an L3/L4 drop) is deny.")
    public static class Test implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--case", required = true, paramLabel = "CASE.yaml", description = "The test case file.")
        Path caseFile;

        @Option(names = "--timeout", defaultValue = "1s", paramLabel = "DURATION",
                description = "How long a probe waits for an answer before it counts as denied (e.g. 1s, 500ms). Default: ${DEFAULT-VALUE}.")
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
            String text;
            try {
                text = Files.readString(caseFile);
            } catch (IOException e) {
                err.println("septum: cannot read " + caseFile + ": " + e.getMessage());
                return CaseRunner.EXIT_INVALID;
            }
            PolicyEngine engine = ServiceLoader.load(PolicyEngine.class).findFirst().orElse(null);
            if (engine == null) {
                err.println("septum: the policy engine (septum-policy) is not on the classpath; reinstall the distribution");
                return CaseRunner.EXIT_ERROR;
            }
            String origin = caseFile.toString();
            TestCase tc;
            try {
                tc = CaseRunner.validate(engine, origin, text);
            } catch (PolicyValidationException e) {
                for (ValidationError v : e.errors()) err.println(v.message());
                return CaseRunner.EXIT_INVALID;
            }
            LabRuntime.Factory labs;
            if ("netns".equals(runtime)) {
                labs = LabRuntime.netns();
            } else if ("docker".equals(runtime)) {
                if (tc.probes().stream().anyMatch(p -> p.http() != null)) {
                    // L7 is judged by the proxy, which is not on the docker path yet
                    err.println("septum: connectivity test " + tc.name() + ": skipped: --runtime docker does not run"
                            + " cases with http: probes yet (run it with --runtime netns)");
                    return CaseRunner.EXIT_PASS;
                }
                labs = DockerLab.factory(dockerHost, image);
            } else {
                err.println("septum: --runtime: \"" + runtime + "\" is not a runtime (netns or docker)");
                return CaseRunner.EXIT_INVALID;
            }
            AgentClient client = CliOptions.client(spec);
            CaseRunner.Outcome o;
            try (var progress = new java.io.PrintStream(new WriterOutputStream(err), true)) {
                o = new CaseRunner(client, engine, progress, probeTimeout, keep, Duration.ofSeconds(30), labs).run(origin, tc);
            }
            if (o.result() == null) {
                err.println("septum: connectivity test " + tc.name() + ": " + o.error());
                return o.exit();
            }
            print(out, o.result(), output);
            return o.exit();
        }
    }

    /** Prints the result as {@code policy eval} does: the probe table and a summary, or the same JSON shape. */
    static void print(PrintWriter out, CaseResult r, String output) {
        if ("json".equals(output)) {
            ObjectMapper m = AgentClient.newMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode root = m.createObjectNode();
            root.put("case", r.name());
            ArrayNode results = root.putArray("results");
            for (ProbeResult p : r.results()) {
                ObjectNode n = results.addObject();
                n.put("from", p.from());
                n.put("to", p.to());
                n.put("port", p.port());
                n.put("protocol", p.protocol());
                n.put("expect", p.expect());
                n.put("verdict", p.verdict());
                n.put("rule", p.rule());
                n.put("pass", p.pass());
                if (p.note() != null && !p.note().isEmpty()) n.put("note", p.note());
            }
            root.put("passed", r.passed());
            root.put("failed", r.failed());
            try {
                out.println(m.writeValueAsString(root));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        } else {
            out.print(Views.probes(r).render());
            out.println(r.passed() + " passed, " + r.failed() + " failed");
        }
        out.flush();
    }

    /** The CLI's global options, read from whichever command declares them, so this command works under any root. */
    static final class CliOptions {
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

        static AgentClient client(CommandSpec spec) {
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
