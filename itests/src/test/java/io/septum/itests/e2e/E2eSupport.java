package io.septum.itests.e2e;

import io.septum.testsupport.TestCorpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.septum.testsupport.TestFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;

/**
 * Runs the real distribution ({@code distribution/target/septum/bin/septum}): the agent as a subprocess with its
 * own state, run and BPF pin directories, and CLI commands against it. Tests skip (with a message) when the
 * distribution is absent, unless {@code -Dseptum.e2e.required=true}, which turns its absence into a failure.
 */
final class E2eSupport {
    static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private static final SecureRandom RANDOM = new SecureRandom();

    private E2eSupport() {
    }

    /** The distribution's launcher script, or a skip (a failure when e2e tests are required). */
    static Path septum() {
        Optional<Path> bin = findSeptum();
        boolean required = Boolean.getBoolean("septum.e2e.required");
        if (bin.isEmpty()) {
            String msg = "the distribution is not built (no distribution/target/septum/bin/septum from " + Path.of("").toAbsolutePath()
                    + "); build it with scripts/build.sh or set -Dseptum.distribution=DIR";
            if (required) fail(msg + " (-Dseptum.e2e.required=true)");
            Assumptions.assumeTrue(false, msg);
        }
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")) || required,
                "end-to-end tests need root (eBPF, network namespaces)");
        return bin.get();
    }

    /** The distribution whose launcher {@link #septum()} is: the directory above its bin/. */
    static Path distribution() {
        return septum().getParent().getParent();
    }

    static Optional<Path> findSeptum() {
        List<Path> candidates = new ArrayList<>();
        String dist = System.getProperty("septum.distribution");
        if (dist != null && !dist.isBlank()) candidates.add(Path.of(dist, "bin", "septum"));
        Path here = Path.of("").toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent()) {
            candidates.add(p.resolve("distribution/target/septum/bin/septum"));
        }
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    /**
     * Makes {@code home} an install of its own on the distribution {@code dist}: the launcher copied (it takes the
     * install it lies in as its home), lib/ and bundle/ linked, etc/ copied (for the test's own .cfg files) and an
     * empty deploy/ (for the jars the test hot-deploys), so that nothing the test writes reaches another test's agent.
     */
    static void privateHome(Path home, Path dist) throws IOException {
        Files.createDirectories(home.resolve("bin"));
        Files.copy(dist.resolve("bin/septum"), home.resolve("bin/septum"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.createSymbolicLink(home.resolve("lib"), dist.resolve("lib"));
        Files.createSymbolicLink(home.resolve("bundle"), dist.resolve("bundle"));
        assertEquals(0, sh(Duration.ofSeconds(10), "cp", "-r", dist.resolve("etc").toString(),
                home.resolve("etc").toString()).exit());
        Files.createDirectories(home.resolve("deploy"));
    }

    /** The jar {@code name} of the distribution's optional/ directory, or a failure: a distribution built without it. */
    static Path optionalJar(Path dist, String name) {
        Path jar = dist.resolve("optional/" + name);
        if (!Files.isRegularFile(jar)) fail("the distribution has no " + jar + "; rebuild distribution/");
        return jar;
    }

    /** A file of the repository (a script: {@code scripts/test-dockerd.sh}), found walking up from the working directory. */
    static Path repoFile(String relative) {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p.resolve(relative))) return p.resolve(relative);
        }
        throw new AssertionError(relative + " not found above " + Path.of("").toAbsolutePath());
    }

    /** One corpus file and its test name: {@code own/x.yaml} or {@code shared/x.yaml}. */
    record CorpusEntry(String name, Path path) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** The project's corpus {@code examples/corpus} (see {@link TestCorpus#own()}); missing is a failure. */
    static Path corpus() {
        return TestCorpus.own();
    }

    /** The shared corpus next to the repository, if present ({@link TestCorpus#shared()}). */
    static Optional<Path> sharedCorpus() {
        return TestCorpus.shared();
    }

    /** The files of {@code sub} ("cases" or "invalid"): the project corpus's, then the shared corpus's. */
    static List<CorpusEntry> corpusFiles(String sub) {
        return TestCorpus.entries(sub).stream().map(e -> new CorpusEntry(e.name(), e.path())).toList();
    }

    /**
     * Why the connectivity lab cannot run a case with real packets, or empty: a probe of another protocol than TCP,
     * UDP or ICMP echo (ICMPv6, SCTP, other ICMP types), an IPv6 address (the lab is IPv4), or an HTTP probe to an external host (a known gap of
     * the L7 path in the lab, docs/l7.md). Such a case is still judged by {@code policy eval}
     * (CorpusTest) and the datapath's own packet tests; the ITs say so instead of failing on the lab's refusal.
     */
    static Optional<String> labCannotProbe(Path c) throws IOException {
        JsonNode tc = new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory()).readTree(c.toFile());
        java.util.Set<String> externals = new java.util.HashSet<>();
        for (JsonNode x : tc.path("external")) externals.add(x.path("name").asText());
        for (JsonNode p : tc.path("probes")) {
            String proto = p.path("protocol").asText("TCP").toUpperCase(java.util.Locale.ROOT);
            // ICMP: the lab sends echo requests (type 8) only
            if (proto.equals("ICMP") && p.path("icmp").path("type").asInt(8) != 8) return Optional.of("ICMP types other than echo");
            if (!proto.equals("TCP") && !proto.equals("UDP") && !proto.equals("ICMP") && !p.has("http")) {
                return Optional.of(proto + " probes");
            }
            // docs/l7.md, known gaps: HTTP through the proxy to a host outside the lab's endpoints
            if (p.has("http") && externals.contains(p.path("to").asText())) return Optional.of("HTTP probes to external hosts");
        }
        for (String section : List.of("endpoints", "external")) {
            for (JsonNode n : tc.path(section)) {
                for (String f : List.of("ip", "ipv6")) if (n.path(f).asText("").contains(":")) return Optional.of("IPv6 addresses");
                for (JsonNode a : n.path("ips")) if (a.asText().contains(":")) return Optional.of("IPv6 addresses");
            }
        }
        return Optional.empty();
    }

    /**
     * Whether the case looks names up ({@code dns:} probes, or a {@code dns: true} endpoint): only the netns lab of
     * {@code connectivity test} runs a DNS server for it (ConnectivityCorpusIT); FqdnPolicyIT checks the proxy too.
     */
    static boolean hasDnsLookups(JsonNode tc) {
        for (JsonNode p : tc.path("probes")) if (p.has("dns")) return true;
        for (JsonNode e : tc.path("endpoints")) if (e.path("dns").asBoolean(false)) return true;
        return false;
    }

    /** Whether the case has {@code http:} probes, which go through the agent's L7 proxy. */
    static boolean hasL7Probes(JsonNode tc) {
        for (JsonNode p : tc.path("probes")) if (p.has("http")) return true;
        return false;
    }

    static boolean hasL7Probes(Path c) throws IOException {
        return hasL7Probes(new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory()).readTree(c.toFile()));
    }

    /**
     * The test of a case the lab cannot probe ({@code cannot}, from {@link #labCannotProbe}): it says so, and that
     * {@code policy eval} judges the case.
     */
    static DynamicTest evalOnly(Agent agent, CorpusEntry e, String cannot) {
        Path c = e.path();
        return DynamicTest.dynamicTest(e.name() + " (" + cannot + ": no real packets)", () -> {
            System.out.println(e.name() + ": the lab sends IPv4 TCP/UDP only; " + cannot
                    + " are judged by policy eval and the datapath's packet tests");
            assertEquals(0, agent.cli("policy", "eval", c.toString()).exit());
        });
    }

    /** What a corpus case the lab can probe becomes: its test, or null to leave the case out. */
    interface LabCase {
        DynamicTest test(CorpusEntry e) throws IOException;
    }

    /** The corpus's cases as tests: those the lab cannot probe as {@link #evalOnly}, the others as {@code probed} makes them. */
    static List<DynamicTest> labCases(Agent agent, LabCase probed) throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (CorpusEntry e : corpusFiles("cases")) {
            Optional<String> cannot = labCannotProbe(e.path());
            DynamicTest t = cannot.isPresent() ? evalOnly(agent, e, cannot.get()) : probed.test(e);
            if (t != null) tests.add(t);
        }
        return tests;
    }

    /**
     * Checks {@code real}, a {@code connectivity test -o json} run of case {@code c}: every probe passed, and
     * {@code policy eval} gives each probe the same verdict and rule. {@code what} names the real run in messages.
     */
    static void assertSameAsEval(Agent agent, Path c, Run real, String what) {
        if (real.exit() != 0) agent.printLog();
        assertEquals(0, real.exit(), real.toString());
        JsonNode r = real.json();
        assertEquals(0, r.path("failed").asInt(-1), real.toString());
        assertEquals(r.path("results").size(), r.path("passed").asInt(), real.toString());

        Run eval = agent.cli("policy", "eval", c.toString(), "-o", "json");
        assertEquals(0, eval.exit(), eval.toString());
        JsonNode e = eval.json();
        assertEquals(e.path("results").size(), r.path("results").size(), "same probes\n" + eval + real);
        for (int i = 0; i < e.path("results").size(); i++) {
            JsonNode a = e.path("results").get(i);
            JsonNode b = r.path("results").get(i);
            assertEquals(a.path("verdict").asText(), b.path("verdict").asText(), "probe " + i + " " + a + " vs " + what + " " + b);
            assertEquals(a.path("rule").asText(), b.path("rule").asText(), "probe " + i + " rule column");
        }
    }

    /**
     * A CiliumNetworkPolicy named {@code name} by which the endpoints with label {@code to} (as in
     * {@code "app: sept-web"}) admit those with label {@code from} on TCP port 80.
     */
    static String allowIngress(String name, String to, String from) {
        return String.join("\n",
                "apiVersion: \"cilium.io/v2\"",
                "kind: CiliumNetworkPolicy",
                "metadata:",
                "  name: \"" + name + "\"",
                "spec:",
                "  endpointSelector:",
                "    matchLabels: {" + to + "}",
                "  ingress:",
                "  - fromEndpoints:",
                "    - matchLabels: {" + from + "}",
                "    toPorts:",
                "    - ports:",
                "      - {port: \"80\", protocol: TCP}",
                "");
    }

    /** An endpoint's labels, as {@code source:key=value} texts. */
    static List<String> labels(JsonNode endpoint) {
        List<String> out = new ArrayList<>();
        endpoint.path("labels").forEach(l -> out.add(l.asText()));
        return out;
    }

    static String rand() {
        return String.format("%04x", RANDOM.nextInt(1 << 16));
    }

    /** The outcome of one command. */
    record Run(List<String> command, int exit, String out, String err) {
        JsonNode json() {
            try {
                return JSON.readTree(out);
            } catch (IOException e) {
                throw new AssertionError("not JSON from " + command + ": " + e.getMessage() + "\n" + this);
            }
        }

        @Override
        public String toString() {
            return String.join(" ", command) + "\n-> exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Run exec(Duration timeout, List<String> command) {
        try {
            Path out = Files.createTempFile("septum-e2e", ".out");
            Path err = Files.createTempFile("septum-e2e", ".err");
            try {
                Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
                int exit;
                if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    exit = p.exitValue();
                } else {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                    exit = -1;
                }
                return new Run(command, exit, Files.readString(out), Files.readString(err)
                        + (exit == -1 ? "\n[killed after " + timeout.toMillis() + " ms]\n" : ""));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new AssertionError("cannot run " + command + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    static Run sh(Duration timeout, String... command) {
        return exec(timeout, Arrays.asList(command));
    }

    /** Polls {@code condition} until it holds or {@code timeout} passes. */
    static boolean await(Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) return true;
            try {
                TimeUnit.MILLISECONDS.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return condition.getAsBoolean();
    }

    /** The private Docker engine of scripts/test-dockerd.sh, which the docker tests share (one at a time, by its lock). */
    static final class TestDocker {
        static final String HOST = "unix:///run/sept-test-docker.sock";

        private TestDocker() {
        }

        /** A skip when dockerd is not installed, unless e2e tests are required (then the test goes on, and fails). */
        static void assumeInstalled() {
            boolean dockerd = Files.isExecutable(Path.of("/usr/sbin/dockerd")) || Files.isExecutable(Path.of("/usr/bin/dockerd"));
            if (!Boolean.getBoolean("septum.e2e.required")) {
                Assumptions.assumeTrue(dockerd, "dockerd is not installed (scripts/install-deps.sh installs docker.io)");
            }
        }

        /** {@code docker} against the test engine: its output, trimmed; an assertion error when it fails. */
        static String docker(String... args) {
            List<String> cmd = new ArrayList<>(List.of("docker", "-H", HOST));
            cmd.addAll(List.of(args));
            Run r = exec(Duration.ofSeconds(60), cmd);
            if (r.exit() != 0) throw new AssertionError(r.toString());
            return r.out().trim();
        }
    }

    /**
     * The agent as a subprocess of the test, with fresh directories: state and run dirs under a temp dir, BPF pins
     * under {@code /sys/fs/bpf/sept-e2e-<rand>}. {@link #restart()} keeps the dirs; {@link #close()} kills it and
     * removes everything.
     */
    static final class Agent implements AutoCloseable {
        final Path septum;
        final Path base;
        final Path stateDir;
        final Path runDir;
        final Path bpfDir;
        final Path log;
        /** An install tree to run with ({@code --home}: its own etc/ and deploy/), or null for the distribution's. */
        Path home;
        private Process process;
        private int starts;
        private int printed;

        Agent(Path septum) {
            this(septum, tempBase());
        }

        /** With its state, run directory and log under {@code base} (removed on close). */
        Agent(Path septum, Path base) {
            this(septum, base, Path.of("/sys/fs/bpf", "sept-e2e-" + rand()));
        }

        /** ... and its pins in {@code bpfDir} (removed on close). */
        Agent(Path septum, Path base, Path bpfDir) {
            this.septum = septum;
            this.base = base;
            this.stateDir = base.resolve("state");
            this.runDir = base.resolve("run");
            this.bpfDir = bpfDir;
            this.log = base.resolve("agent.log");
        }

        private static Path tempBase() {
            try {
                return Files.createTempDirectory("septum-e2e-");
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }

        static Agent start(Path septum) {
            return start(septum, (Path) null);
        }

        /** Words before {@code septum agent}: a wrapper the agent runs under ({@code scripts/sandbox-run.sh}). */
        final List<String> prefix = new ArrayList<>();

        /**
         * Started under {@code prefix}, with its directories under {@code base} (outside /tmp for a sandbox) and its
         * pins in {@code bpfDir}.
         */
        static Agent startUnder(Path septum, Path base, Path bpfDir, List<String> prefix) {
            Agent a = new Agent(septum, base, bpfDir);
            a.prefix.addAll(prefix);
            return launched(a);
        }

        /** The agent's JVM: the process itself, or under a wrapper ({@link #prefix}) the descendant running Java. */
        Optional<ProcessHandle> jvm() {
            if (process == null || !process.isAlive()) return Optional.empty();
            return Stream.concat(Stream.of(process.toHandle()), process.descendants())
                    .filter(h -> h.info().command().map(c -> c.endsWith("/java")).orElse(false)).findFirst();
        }

        /** With {@code --home home} when not null: a test's own etc/ (e.g. a component enabled) and deploy/. */
        static Agent start(Path septum, Path home) {
            return home == null ? start(septum, new String[0]) : start(septum, "--home", home.toString());
        }

        /** Arguments added to {@code septum agent} (e.g. {@code --home} of a test's own install directory). */
        final List<String> extraArgs = new ArrayList<>();

        static Agent start(Path septum, String... extraArgs) {
            Agent a = new Agent(septum);
            a.extraArgs.addAll(List.of(extraArgs));
            for (int i = 0; i + 1 < extraArgs.length; i++) if (extraArgs[i].equals("--home")) a.home = Path.of(extraArgs[i + 1]);
            return launched(a);
        }

        private static Agent launched(Agent a) {
            try {
                a.launch();
            } catch (RuntimeException | Error e) {
                a.printLog();
                a.close();
                throw e;
            }
            return a;
        }

        Path socket() {
            return runDir.resolve("septum.sock");
        }

        void launch() {
            starts++;
            try {
                Files.writeString(log, "==== start " + starts + "\n", StandardCharsets.UTF_8,
                        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
                List<String> cmd = new ArrayList<>(prefix);
                cmd.addAll(List.of(septum.toString(), "agent", "--state-dir", stateDir.toString(),
                        "--run-dir", runDir.toString(), "--bpf-dir", bpfDir.toString()));
                cmd.addAll(extraArgs);
                ProcessBuilder b = new ProcessBuilder(cmd);
                // its pin directory's lock next to its other directories, not in the host's /run/lock/septum; a
                // sandboxed agent keeps the unit's, the one folder its sandbox lets it write
                if (prefix.isEmpty()) b.environment().put("SEPTUM_LOCK_DIR", base.resolve("locks").toString());
                process = b
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                        .start();
            } catch (IOException e) {
                throw new AssertionError("cannot start " + septum + " agent: " + e.getMessage(), e);
            }
            long t0 = System.nanoTime();
            boolean ready = await(Duration.ofSeconds(90), () -> {
                if (!process.isAlive()) return true;
                try {
                    JsonNode s = get("/v1/status");
                    return s.path("ready").asBoolean(false);
                } catch (IOException e) {
                    return false;
                }
            });
            if (!process.isAlive()) {
                printLog();
                fail("the agent exited with " + process.exitValue() + " during start; log above (" + log + ")");
            }
            if (!ready) {
                printLog();
                fail("the agent was not ready within 90 s; log above (" + log + ")");
            }
            System.err.println("e2e: agent ready in " + (System.nanoTime() - t0) / 1_000_000 + " ms (" + base + ")");
        }

        /** SIGKILL, as an OOM killer or {@code kill -9} would: no deactivation runs. */
        void kill9() {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /**
         * Starts the agent again on the same directories; one still running is stopped first (SIGTERM, as systemd
         * would, then SIGKILL after 15 s): a second agent would be refused by the pid file, and the first one would
         * go on answering (and outlive the test).
         */
        void restart() {
            stop();
            launch();
        }

        private void stop() {
            if (process == null || !process.isAlive()) return;
            process.destroy();
            try {
                if (!process.waitFor(15, TimeUnit.SECONDS)) {
                    // a wrapper's child (the agent under a sandbox) must not outlive it
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }

        boolean alive() {
            return process != null && process.isAlive();
        }

        /** {@code septum --socket S args...}. */
        Run cli(String... args) {
            return cli(Duration.ofSeconds(60), args);
        }

        Run cli(Duration timeout, String... args) {
            List<String> cmd = new ArrayList<>();
            cmd.add(septum.toString());
            cmd.add("--socket");
            cmd.add(socket().toString());
            cmd.addAll(List.of(args));
            return exec(timeout, cmd);
        }

        /** Writes {@code yaml} to {@code file} and imports it ({@code septum policy import}), which must succeed. */
        void importPolicy(Path file, String yaml) throws IOException {
            Files.writeString(file, yaml);
            Run imp = cli("policy", "import", file.toString());
            assertEquals(0, imp.exit(), imp.toString());
        }

        /** A GET on the API socket, without a CLI process (fast enough to poll). */
        JsonNode get(String path) throws IOException {
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(socket()));
                String req = "GET " + path + " HTTP/1.1\r\nHost: septum\r\nAccept: application/json\r\nConnection: close\r\n\r\n";
                ByteBuffer b = ByteBuffer.wrap(req.getBytes(StandardCharsets.US_ASCII));
                while (b.hasRemaining()) ch.write(b);
                InputStream in = Channels.newInputStream(ch);
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                in.transferTo(all);
                String text = all.toString(StandardCharsets.UTF_8);
                int split = text.indexOf("\r\n\r\n");
                if (split < 0 || !text.startsWith("HTTP/1.1 2")) throw new IOException("bad answer: " + text);
                String head = text.substring(0, split).toLowerCase();
                String body = text.substring(split + 4);
                if (head.contains("transfer-encoding: chunked")) body = unchunk(body);
                return JSON.readTree(body);
            }
        }

        private static String unchunk(String s) {
            StringBuilder out = new StringBuilder();
            int i = 0;
            while (i < s.length()) {
                int nl = s.indexOf("\r\n", i);
                if (nl < 0) break;
                int n = Integer.parseInt(s.substring(i, nl).split(";")[0].trim(), 16);
                if (n == 0) break;
                out.append(s, nl + 2, nl + 2 + n);
                i = nl + 2 + n + 2;
            }
            return out.toString();
        }

        /** The first endpoint of {@code GET /v1/endpoints} that matches, or a missing node (also when the agent is busy). */
        JsonNode endpoint(Predicate<JsonNode> match) {
            try {
                for (JsonNode e : get("/v1/endpoints")) {
                    if (match.test(e)) return e;
                }
            } catch (IOException e) {
                // the agent is busy: the caller polls
            }
            return MissingNode.getInstance();
        }

        /** How many endpoints {@code endpoint list} shows ready. */
        int readyEndpoints() {
            int ready = 0;
            for (JsonNode e : cli("endpoint", "list", "-o", "json").json()) {
                if ("ready".equals(e.path("state").asText())) ready++;
            }
            return ready;
        }

        /** Prints the log lines not printed yet (a class with many failing cases shows each line once). */
        void printLog() {
            try {
                if (!Files.exists(log)) return;
                List<String> lines = Files.readAllLines(log);
                int from = Math.max(printed, lines.size() - 300);
                if (from >= lines.size()) return;
                System.err.println("==== agent log " + log + " (lines " + (from + 1) + "-" + lines.size() + ") ====");
                lines.subList(from, lines.size()).forEach(System.err::println);
                System.err.println("==== end of agent log ====");
                printed = lines.size();
            } catch (IOException e) {
                System.err.println("cannot read " + log + ": " + e.getMessage());
            }
        }

        @Override
        public void close() {
            stop();
            sh(Duration.ofSeconds(10), "rm", "-rf", bpfDir.toString());
            TestFiles.deleteTree(base);
        }
    }
}
