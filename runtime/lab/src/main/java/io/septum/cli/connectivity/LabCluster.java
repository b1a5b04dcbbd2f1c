package io.septum.cli.connectivity;

import io.septum.api.AgentStatus;
import io.septum.api.ClusterNode;
import io.septum.api.ClusterStatus;
import io.septum.cli.AgentClient;
import io.septum.cli.AgentException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Several Septum nodes on one machine, for {@code connectivity test --nodes N}: one etcd and N agents in cluster
 * mode, each node a network namespace with its own agent (own home, state, run and BPF pin directories).
 *
 * <p>The nodes are namespaces on an underlay: a {@link NetLab} in the root namespace whose bridge holds
 * {@code 10.199.<u>.254} (where etcd listens) and whose members are the nodes, {@code 10.199.<u>.<k+1>} on their
 * {@code eth0}. Node {@code k} owns endpoint CIDR {@code 10.199.<s_k>.0/24}; every node routes the other nodes'
 * CIDRs to them over the underlay (native routing, no tunnel), and forwards. A case's endpoints live in a
 * {@link NetLab} whose bridge is inside their node's namespace ({@link ClusterRuntime}), so that node's agent
 * enforces on them; external hosts are on the underlay, with routes to every node's CIDR.
 *
 * <p>Each agent runs under {@code ip netns exec}, which gives it the node's {@code /sys}; its BPF objects are
 * pinned on a bpffs mounted for it in the lab's directory, so that nodes never see each other's pins. Agents and
 * etcd are processes of the lab: {@link #close()} stops them and removes everything, and
 * {@link NetLab#cleanupStale(String)} removes what a killed run left.
 */
public final class LabCluster implements AutoCloseable {
    public static final int MAX_NODES = 8;
    /** The port of each node's peer flow service (inside its own namespace, on its underlay address). */
    static final int PEER_PORT = 4244;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long CMD_TIMEOUT_MS = 10_000;

    private final NetLab underlay;
    private final List<Member> members = new ArrayList<>();
    private final PrintStream progress;
    private final int leaseTtlSeconds;
    private String etcdUrl;
    private Process etcd;
    private boolean closed;

    /**
     * One node: its namespace on the underlay, its endpoint subnet, its agent and the agent's client.
     *
     * @param name the node's name in the cluster
     */
    public record Member(int index, String name, NetLab.Node host, int subnet, Path dir, Process agent, AgentClient client) {
        /** The CIDR of this node's endpoints. */
        public String cidr() {
            return "10.199." + subnet + ".0/24";
        }

        /** This node's address on its endpoints' segment (their gateway). */
        public String gateway() {
            return "10.199." + subnet + ".254";
        }

        public Path log() {
            return dir.resolve("agent.log");
        }
    }

    private LabCluster(NetLab underlay, PrintStream progress, int leaseTtlSeconds) {
        this.underlay = underlay;
        this.progress = progress;
        this.leaseTtlSeconds = leaseTtlSeconds;
    }

    /**
     * Starts {@code nodes} nodes: namespaces and routes, etcd (a private one from the {@code etcd} binary, or a relay
     * to {@code etcdEndpoint}), and an agent per node from the installation at {@code septumHome}; returns once
     * every agent is ready and sees every node registered. Throws {@link LabException} saying what failed, after
     * removing what it made.
     */
    public static LabCluster start(int nodes, String etcdEndpoint, Path septumHome, Duration readyTimeout, PrintStream progress) {
        return start(nodes, etcdEndpoint, septumHome, readyTimeout, progress, 30);
    }

    /** The same, with the nodes' lease TTL (how long a dead node's keys outlive it). */
    public static LabCluster start(int nodes, String etcdEndpoint, Path septumHome, Duration readyTimeout, PrintStream progress,
                                   int leaseTtlSeconds) {
        if (nodes < 2 || nodes > MAX_NODES) throw new IllegalArgumentException("--nodes " + nodes + " is outside 2-" + MAX_NODES);
        Path launcher = septumHome.resolve("bin/septum");
        if (!Files.isExecutable(launcher)) {
            throw new LabException("no agent launcher at " + launcher + ": --nodes starts agents from the installed distribution"
                    + " (run the septum command of an install, or set SEPTUM_HOME to it)");
        }
        URI external = etcdEndpoint == null || etcdEndpoint.isBlank() ? null : parseEtcd(etcdEndpoint);
        if (external == null) requireTool("etcd", "the etcd binary is not installed (apt-get install etcd-server), or pass --etcd-endpoints");
        for (String line : NetLab.cleanupStale("c")) progress.println("septum: removed a leftover of an earlier run: " + line);
        LabCluster c = new LabCluster(NetLab.create('c'), progress, leaseTtlSeconds);
        long t0 = System.nanoTime();
        progress.print("septum: starting " + nodes + " nodes (" + (external == null ? "a private etcd" : "etcd " + external)
                + ", an agent per node)... ");
        progress.flush();
        try {
            c.buildNodes(nodes);
            c.startEtcd(external);
            c.makeCertificates();
            for (Member m : List.copyOf(c.members)) c.startAgent(m, septumHome);
            c.awaitAgents(readyTimeout);
        } catch (RuntimeException e) {
            progress.println("failed");
            c.printLogs();
            c.close();
            throw e;
        }
        progress.println("ready in " + (System.nanoTime() - t0) / 1_000_000 + " ms (lab " + c.underlay.runId() + ", etcd "
                + c.etcdUrl + ")");
        return c;
    }

    public List<Member> members() {
        return List.copyOf(members);
    }

    public String runId() {
        return underlay.runId();
    }

    /** Where the nodes reach etcd. */
    public String etcdUrl() {
        return etcdUrl;
    }

    /** The underlay: the nodes' segment, where external hosts live too. */
    NetLab underlay() {
        return underlay;
    }

    /** Makes the case labs of this cluster, for {@link CaseRunner}. */
    public LabRuntime.Factory runtime() {
        return new ClusterRuntime.Factory(this);
    }

    // ---- building -------------------------------------------------------------------------------------------

    private void buildNodes(int n) {
        Set<Integer> used = new LinkedHashSet<>();
        used.add(underlay.subnet());
        for (int k = 0; k < n; k++) {
            NetLab.Node host = underlay.addEndpoint("node-" + k);
            int subnet;
            do {
                subnet = 1 + RANDOM.nextInt(250);
            } while (!used.add(subnet));
            // a node forwards between its endpoints and the underlay; new links (bridges, veths) get no IPv6
            Cmd.run(CMD_TIMEOUT_MS, "ip", "netns", "exec", host.netns(), "sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
                    "net.ipv6.conf.default.disable_ipv6=1").check();
            Path dir = underlay.dir().resolve("node-" + k);
            members.add(new Member(k, "lab-" + underlay.runId() + "-" + k, host, subnet, dir, null, null));
        }
        for (Member m : members) {
            for (Member o : members) {
                if (o != m) underlay.route(m.host(), o.cidr(), o.host().ip());
            }
        }
    }

    private static URI parseEtcd(String text) {
        String first = text.split(",")[0].trim();
        URI u;
        try {
            u = URI.create(first);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--etcd-endpoints: \"" + first + "\" is not a URL (e.g. http://127.0.0.1:2379)");
        }
        if (!"http".equals(u.getScheme()) || u.getHost() == null || u.getPort() < 1) {
            throw new IllegalArgumentException("--etcd-endpoints: \"" + first + "\" must be http://HOST:PORT: the lab runs its"
                    + " nodes against a plaintext test etcd (scripts/test-etcd.sh starts one)");
        }
        return u;
    }

    /**
     * A private etcd on the underlay bridge's address, or a relay there to the given one: the nodes cannot reach
     * the root namespace's loopback, where a test etcd usually listens.
     */
    private void startEtcd(URI external) {
        String host = underlay.hostIp();
        int client = freePort(host);
        Path dir = underlay.dir().resolve("etcd");
        List<String> cmd;
        if (external == null) {
            int peer = freePort(host);
            String clientUrl = "http://" + host + ":" + client;
            String peerUrl = "http://" + host + ":" + peer;
            cmd = List.of("etcd", "--name", "septum-lab", "--data-dir", dir.resolve("data").toString(),
                    "--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl,
                    "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
                    "--initial-cluster", "septum-lab=" + peerUrl);
        } else {
            requireTool("socat", "socat is not installed (scripts/install-deps.sh installs it)");
            cmd = List.of("socat", "TCP4-LISTEN:" + client + ",bind=" + host + ",fork,reuseaddr",
                    "TCP:" + external.getHost() + ":" + external.getPort());
        }
        try {
            Files.createDirectories(dir);
            etcd = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("etcd.log").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
        } catch (IOException e) {
            throw new LabException("cannot start " + cmd.get(0) + ": " + e.getMessage(), e);
        }
        underlay.track(etcd);
        etcdUrl = "http://" + host + ":" + client;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        while (true) {
            try {
                var r = http.send(java.net.http.HttpRequest.newBuilder(URI.create(etcdUrl + "/version"))
                        .timeout(Duration.ofSeconds(2)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) return;
            } catch (IOException e) {
                // not up yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LabException("interrupted while waiting for etcd", e);
            }
            if (!etcd.isAlive() || System.nanoTime() > deadline) {
                throw new LabException("etcd did not answer on " + etcdUrl + (external == null ? "" : " (relayed to " + external + ")")
                        + " within 30 s: " + tail(dir.resolve("etcd.log"), 5));
            }
            pause(100);
        }
    }

    /**
     * A node's install: the distribution's programs (links), its own {@code etc/} (a copy, with the cluster
     * configuration) and an empty {@code deploy/}; then the agent, in the node's namespace.
     */
    private void startAgent(Member m, Path septumHome) {
        Path home = m.dir().resolve("home");
        Path bpf = m.dir().resolve("bpf");
        try {
            Files.createDirectories(home.resolve("deploy"));
            Files.createDirectories(bpf);
            try (Stream<Path> s = Files.list(septumHome)) {
                for (Path p : s.toList()) {
                    String f = p.getFileName().toString();
                    if (f.equals("etc") || f.equals("deploy")) continue;
                    Files.createSymbolicLink(home.resolve(f), p.toAbsolutePath());
                }
            }
            copyTree(septumHome.resolve("etc"), home.resolve("etc"));
            Path pki = underlay.dir().resolve("pki");
            String peer = !Files.exists(pki.resolve("ca.pem")) ? "" : String.join("\n",
                    "peerPort=" + PEER_PORT,
                    "peerCaFile=" + pki.resolve("ca.pem"),
                    "peerCertFile=" + pki.resolve(m.name() + ".pem"),
                    "peerKeyFile=" + pki.resolve(m.name() + "-key.pem"),
                    "");
            Files.writeString(home.resolve("etc/io.septum.cluster.cfg"), peer + String.join("\n",
                    "# written by septum connectivity test --nodes for lab " + underlay.runId(),
                    "etcdEndpoints=" + etcdUrl,
                    "allowInsecure=true",
                    "clusterName=default",
                    "nodeName=" + m.name(),
                    "endpointCidrs=" + m.cidr(),
                    "nodeAddresses=" + m.host().ip() + "," + m.gateway(),
                    "leaseTtlSeconds=" + leaseTtlSeconds,
                    ""));
        } catch (IOException e) {
            throw new LabException("cannot prepare node " + m.name() + " in " + m.dir() + ": " + e.getMessage(), e);
        }
        Cmd.run(CMD_TIMEOUT_MS, "mount", "-t", "bpf", "bpf", bpf.toString()).check();
        Path run = m.dir().resolve("run");
        List<String> cmd = List.of("ip", "netns", "exec", m.host().netns(), septumHome.resolve("bin/septum").toString(),
                "agent", "--home", home.toString(), "--state-dir", m.dir().resolve("state").toString(),
                "--run-dir", run.toString(), "--bpf-dir", bpf.resolve("septum").toString());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(m.log().toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        // several JVMs share the machine: keep each one small
        String opts = System.getenv().getOrDefault("SEPTUM_JAVA_OPTS", "");
        pb.environment().put("SEPTUM_JAVA_OPTS", (opts + " -Xmx384m -XX:+UseSerialGC").trim());
        // a node of its own: the lock of its pin directory is kept in its folder, as a host keeps it in /run/lock
        pb.environment().put("SEPTUM_LOCK_DIR", m.dir().resolve("locks").toString());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new LabException("cannot start the agent of " + m.name() + ": " + e.getMessage(), e);
        }
        underlay.track(p);
        members.set(m.index(), new Member(m.index(), m.name(), m.host(), m.subnet(), m.dir(), p,
                new AgentClient(run.resolve("septum.sock"), Duration.ofSeconds(30))));
    }

    /**
     * A cluster CA and a certificate per node (DNS name = node name, its underlay address; server and client use) for
     * the peer flow service, so that {@code observe --cluster} works across the lab's nodes. Without openssl the
     * nodes run without that service (their flows stay their own) and the lab says so.
     */
    private void makeCertificates() {
        if (!LabRuns.onPath("openssl")) {
            progress.print("(no openssl: no peer flow service, observe --cluster shows each node alone) ");
            return;
        }
        Path pki = underlay.dir().resolve("pki");
        try {
            Files.createDirectories(pki);
        } catch (IOException e) {
            throw new LabException("cannot create " + pki + ": " + e.getMessage(), e);
        }
        String ca = pki.resolve("ca").toString();
        Cmd.run(CMD_TIMEOUT_MS, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-days", "2", "-subj", "/CN=septum-lab-" + underlay.runId(), "-keyout", ca + "-key.pem", "-out", ca + ".pem").check();
        for (Member m : members) {
            String base = pki.resolve(m.name()).toString();
            Cmd.run(CMD_TIMEOUT_MS, "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=" + m.name(), "-keyout", base + "-key.pem", "-out", base + ".csr").check();
            try {
                Files.writeString(Path.of(base + ".ext"), "subjectAltName=DNS:" + m.name() + ",IP:" + m.host().ip() + "\n"
                        + "extendedKeyUsage=serverAuth,clientAuth\n");
            } catch (IOException e) {
                throw new LabException("cannot write " + base + ".ext: " + e.getMessage(), e);
            }
            Cmd.run(CMD_TIMEOUT_MS, "openssl", "x509", "-req", "-in", base + ".csr", "-CA", ca + ".pem", "-CAkey", ca + "-key.pem",
                    "-CAcreateserial", "-days", "2", "-extfile", base + ".ext", "-out", base + ".pem").check();
        }
    }

    /** Every agent ready, in cluster mode with state ok, and seeing every node registered. */
    private void awaitAgents(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Member m : members) {
            String last = "not answering yet";
            while (true) {
                if (!m.agent().isAlive()) {
                    throw new LabException("the agent of " + m.name() + " exited with " + m.agent().exitValue() + ": "
                            + tail(m.log(), 5) + " (log: " + m.log() + ")");
                }
                try {
                    AgentStatus s = m.client().get("/v1/status", AgentStatus.class);
                    ClusterStatus cs = m.client().get("/v1/cluster", ClusterStatus.class);
                    List<ClusterNode> nodes = m.client().list("/v1/cluster/nodes", ClusterNode.class);
                    if (s.ready() && "ok".equals(cs.state()) && nodes.size() >= members.size()) break;
                    last = "ready=" + s.ready() + ", cluster " + cs.state() + " (" + cs.message() + "), " + nodes.size()
                            + " of " + members.size() + " nodes registered";
                } catch (AgentException e) {
                    last = e.getMessage();
                }
                if (System.nanoTime() > deadline) {
                    throw new LabException("the agent of " + m.name() + " is not ready after " + timeout.toSeconds() + " s: "
                            + last + " (log: " + m.log() + ")");
                }
                pause(200);
            }
        }
    }

    private void printLogs() {
        for (Member m : members) {
            if (m.agent() == null) continue;
            progress.println("septum: last lines of " + m.name() + "'s log (" + m.log() + "):");
            progress.println(tail(m.log(), 20));
        }
    }

    // ---- stopping -------------------------------------------------------------------------------------------

    /** Stops the agents (SIGTERM, then SIGKILL after 15 s) and etcd, and removes the nodes and files. Never throws. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (Member m : members) {
            if (m.agent() != null && m.agent().isAlive()) m.agent().destroy();
        }
        for (Member m : members) {
            if (m.agent() == null) continue;
            try {
                if (!m.agent().waitFor(15, TimeUnit.SECONDS)) Cmd.kill(m.agent());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                Cmd.kill(m.agent());
            }
        }
        if (etcd != null) Cmd.kill(etcd);
        underlay.close();
    }

    /** Leaves everything running when this process exits ({@code --keep}); the next run's cleanup removes it. */
    public synchronized void keep() {
        closed = true;
        underlay.keep();
    }

    /** Hands the shutdown cleanup to the caller's hook (which also has endpoints to delete first). */
    public void closeOnShutdownByCaller() {
        underlay.closeOnShutdownByCaller();
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    /** A port nothing listens on at {@code host} now (etcd binds it a moment later; the lab's address is its own). */
    private static int freePort(String host) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new LabException("cannot find a free port on " + host + ": " + e.getMessage(), e);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        if (!Files.isDirectory(from)) {
            Files.createDirectories(to);
            return;
        }
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else if (!from.relativize(p).startsWith("endpoints") || p.getFileName().toString().endsWith(".md")) {
                    // the operator's netns declarations stay theirs: a lab node starts without endpoints
                    Files.copy(p, t);
                }
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static void requireTool(String tool, String message) {
        if (!LabRuns.onPath(tool)) throw new LabException(message);
    }

    static String tail(Path log, int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size())).strip();
        } catch (IOException | UncheckedIOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static void pause(long millis) {
        LabException.pause(millis, "interrupted while waiting for the lab's nodes");
    }
}
