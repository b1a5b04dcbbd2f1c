package io.septum.cli.connectivity;

import io.septum.api.AgentStatus;
import io.septum.api.ComponentStatus;
import io.septum.api.Endpoint;
import io.septum.api.SourceHealth;
import io.septum.api.policy.TestCase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The {@code docker} runtime: each case endpoint is a container of one Docker engine, on a user-defined bridge
 * network {@code sept-<run>} (subnet {@code 10.197.<n>.0/24}, bridge {@code sbd<run>}) that the lab creates and
 * removes. The agent learns about the containers from its own docker source ({@code source-docker}, deployed into
 * it), exactly as it would in production: their labels become {@code container:} labels, and the lab sets the
 * label {@value #NAMESPACE_LABEL} to the case's namespace, which the agent strips and, with the source's
 * {@code namespaceFromLabel} pointing at it, takes as the endpoint's namespace.
 *
 * <p>TCP listeners and probes run inside the containers with {@code docker exec} and busybox {@code nc}
 * ({@code nc -ll -e} runs the lab's echo/HTTP responder per connection). Busybox {@code nc} has no UDP, so UDP
 * listeners and probes run the host's {@code socat} inside the container's network namespace ({@code nsenter
 * --net}): the same packets through the same veth. External hosts are network namespaces whose veth is a port of
 * the lab network's bridge, so they share the containers' L2 segment without being containers (which the docker
 * source would turn into endpoints); every container gets an on-link route to {@value NetLab#LAB_ROUTE}.
 *
 * <p>Names and cleanup follow {@link NetLab}: run ids and owner files ({@link LabRuns}), a shutdown hook, and
 * {@link #cleanupStale(String, String)} for runs whose process is gone. Listeners and probes are the labs' shared
 * {@link EchoListeners} and {@link LabProbes}; external hosts are made by {@link NodeNamespaces}.
 */
public final class DockerLab implements LabRuntime {
    /** The container label that carries the case's namespace. */
    public static final String NAMESPACE_LABEL = "io.kubernetes.pod.namespace";
    public static final String DEFAULT_HOST = "unix:///var/run/docker.sock";
    public static final String DEFAULT_IMAGE = "septum-test/busybox";
    /** Prefix of the bridge of the lab's Docker network. */
    public static final String BRIDGE_PREFIX = "sbd";
    private static final Pattern CONTAINER = Pattern.compile(NetLab.NETNS_PREFIX + "([a-z][0-9a-f]{4})-\\d+");
    private static final Pattern NETWORK = Pattern.compile(NetLab.NETNS_PREFIX + "([a-z][0-9a-f]{4})");
    private static final long CMD_TIMEOUT_MS = 30_000;
    /** docker exec costs a few hundred ms before the probe itself starts, more on a loaded host. */
    private static final long EXEC_MARGIN_MS = 4000;
    private static final String HANDLER_IN_CONTAINER = "/tmp/septum-echo.sh";

    private final String host;
    private final String image;
    private final String runId;
    /** The third octet of the network's addresses; set for good once the network exists. */
    private int subnet;
    private final Path dir;
    private final String network;
    private final String bridge;
    private final Map<String, NetLab.Node> nodes = new LinkedHashMap<>();
    private final Map<NetLab.Node, String> containers = new LinkedHashMap<>();
    private final EchoListeners listeners;
    private final LabLifecycle lifecycle;
    private boolean networkCreated;
    private int nextIndex = 1;

    /** Makes docker labs talking to {@code host}, with containers from {@code image}. */
    public static Factory factory(String host, String image) {
        return new Factory() {
            @Override
            public String name() {
                return "docker";
            }

            @Override
            public String checkAgent(AgentStatus status) {
                return DockerLab.checkAgent(status, host);
            }

            @Override
            public List<String> cleanupStale(String kind) {
                List<String> removed = new ArrayList<>(DockerLab.cleanupStale(host, kind));
                removed.addAll(NetLab.cleanupStale(kind));
                return removed;
            }

            @Override
            public LabRuntime create(char kind) {
                return DockerLab.create(kind, host, image);
            }
        };
    }

    private DockerLab(String host, String image, String runId, int subnet, Path dir) {
        this.host = host;
        this.image = image;
        this.runId = runId;
        this.subnet = subnet;
        this.dir = dir;
        this.network = NetLab.NETNS_PREFIX + runId;
        this.bridge = BRIDGE_PREFIX + runId;
        this.listeners = new EchoListeners(dir);
        this.lifecycle = new LabLifecycle(runId, "septum-docker-lab-cleanup-" + runId, this::closeQuietly);
    }

    /**
     * Checks the engine and the image, then makes an empty lab with its network. {@code kind} is as in
     * {@link NetLab#create(char)}.
     */
    public static DockerLab create(char kind, String host, String image) {
        LabRuns.checkKind(kind);
        LabRuns.requireTools(List.of("docker", "ip", "socat", "ss", "nsenter"), "--runtime docker needs the docker CLI"
                + " (docker.io), iproute2, socat and util-linux (scripts/install-deps.sh installs them)");
        Cmd.Result v = Cmd.run(CMD_TIMEOUT_MS, "docker", "-H", host, "version", "--format", "{{.Server.Version}}");
        if (!v.ok()) {
            throw new LabException("cannot reach the Docker engine at " + host + ": " + LabProbes.lastLine(v.err() + v.out())
                    + " (start one, e.g. scripts/test-dockerd.sh start, or pass --docker-host)");
        }
        Cmd.Result img = Cmd.run(CMD_TIMEOUT_MS, "docker", "-H", host, "image", "inspect", "--format", "{{.Id}}", image);
        if (!img.ok()) {
            throw new LabException("the Docker engine at " + host + " has no image " + image + "; the lab never pulls:"
                    + " import one with busybox in it (scripts/test-dockerd.sh start imports " + DEFAULT_IMAGE
                    + " from busybox-static) or pass --image");
        }
        LabRuns.Run run = LabRuns.allocate(kind, id -> Files.exists(LabRuns.ownerFile(id))
                || Files.exists(Path.of("/sys/class/net", BRIDGE_PREFIX + id)), "remove leftovers under " + LabRuns.stateBase());
        DockerLab lab = new DockerLab(host, image, run.id(), 1 + LabRuns.RANDOM.nextInt(254), run.dir());
        LabRuns.writeOwner(run.id(), lab.subnet + " docker " + host);
        lab.lifecycle.installHook();
        try {
            lab.createNetwork();
        } catch (RuntimeException e) {
            lab.close();
            throw e;
        }
        return lab;
    }

    /** What the agent must have for docker endpoints: its docker source, connected to this engine. Null if fine. */
    static String checkAgent(AgentStatus status, String host) {
        Optional<SourceHealth> src = status.sources().stream().filter(s -> "container".equals(s.source())).findFirst();
        if (src.isEmpty()) {
            return "the agent has no docker endpoint source, so containers never become endpoints: deploy it into the"
                    + " running agent (cp <septum home>/optional/septum-source-docker.jar <septum home>/deploy/; see"
                    + " docs/sources.md), with dockerHost=" + host + " in etc/io.septum.source.docker.cfg";
        }
        if (!src.get().connected()) {
            return "the agent's docker source is not connected to its engine (" + src.get().error() + "); check"
                    + " dockerHost in etc/io.septum.source.docker.cfg (this test uses " + host + ")";
        }
        for (ComponentStatus c : status.components()) {
            String m = c.message() == null ? "" : c.message();
            if ("source-docker".equals(c.name()) && m.contains(" from ") && !m.endsWith(" from " + host)) {
                return "the agent's docker source watches another engine (" + m + ") than --docker-host " + host
                        + "; pass that engine's socket, or set dockerHost in etc/io.septum.source.docker.cfg";
            }
        }
        return null;
    }

    @Override
    public String name() {
        return "docker";
    }

    @Override
    public String runId() {
        return runId;
    }

    @Override
    public String endpointKind() {
        return "containers";
    }

    public String network() {
        return network;
    }

    @Override
    public int parallelism() {
        return 4;
    }

    /** Thread-safe, and slow (a {@code docker run}): callers may add several endpoints at once. */
    @Override
    public NetLab.Node addEndpoint(TestCase.Endpoint e) {
        int index;
        String ip;
        String name;
        NetLab.Node pending;
        synchronized (this) {
            lifecycle.ensureOpen();
            if (nextIndex > 250) throw new LabException("too many nodes in one lab (at most 250)");
            index = nextIndex++;
            ip = "10.197." + subnet + "." + (index + 1);
            name = NetLab.NETNS_PREFIX + runId + "-" + index;
            // remembered before it runs, so that close() removes a half-made container too
            pending = new NetLab.Node(e.qualifiedName(), index, "", "", ip);
            containers.put(pending, name);
        }
        // the responder is written by the container's own first command: one docker exec less per container
        List<String> cmd = new ArrayList<>(List.of("docker", "-H", host, "run", "-d", "--name", name,
                "--network", network, "--ip", ip, "--hostname", hostname(e.name()), "-e", "SEPTUM_ECHO=" + EchoListeners.handlerScript(),
                "-e", "SEPTUM_LAB_NAME=" + e.qualifiedName()));
        for (Map.Entry<String, String> l : e.labels().entrySet()) {
            cmd.add("--label");
            cmd.add(l.getKey() + "=" + l.getValue());
        }
        cmd.add("--label");
        cmd.add(NAMESPACE_LABEL + "=" + e.namespace());
        // named ports as source-docker reads them (docs/sources.md)
        for (var p : e.namedPorts()) {
            cmd.add("--label");
            cmd.add("io.septum.port." + p.name() + "=" + p.port() + "/" + p.protocol().toLowerCase(java.util.Locale.ROOT));
        }
        cmd.addAll(List.of(image, "sh", "-c", "printf '%s' \"$SEPTUM_ECHO\" > " + HANDLER_IN_CONTAINER
                + " && exec sleep 1000000"));
        Cmd.run(CMD_TIMEOUT_MS, null, cmd).check();
        String pid = docker("inspect", "--format", "{{.State.Pid}}", name).strip();
        String netns = "/proc/" + pid + "/ns/net";
        // eth0@ifN: N is the host end's ifindex
        String link = Cmd.run(CMD_TIMEOUT_MS, "nsenter", "--net=" + netns, "ip", "-o", "link", "show", "eth0").check().out();
        java.util.regex.Matcher m = Pattern.compile("eth0@if(\\d+)").matcher(link);
        String iflink = m.find() ? m.group(1) : "?";
        String veth = hostLink(iflink).orElseThrow(() -> new LabException("container " + name + ": no host link with"
                + " ifindex " + iflink + " (the peer of its eth0: " + link.strip() + ")"));
        // external hosts (10.198/16) are on the same segment, not behind the network's gateway
        Cmd.run(CMD_TIMEOUT_MS, "nsenter", "--net=" + netns, "ip", "route", "add", NetLab.LAB_ROUTE, "dev", "eth0").check();
        NetLab.Node node = new NetLab.Node(e.qualifiedName(), index, netns, veth, ip);
        synchronized (this) {
            containers.remove(pending);
            containers.put(node, name);
            nodes.put(node.name(), node);
            lifecycle.ensureOpen();
        }
        return node;
    }

    @Override
    public synchronized NetLab.Node addExternal(String name, String ip) {
        lifecycle.ensureOpen();
        if (nextIndex > 250) throw new LabException("too many nodes in one lab (at most 250)");
        for (NetLab.Node n : nodes.values()) {
            if (n.ip().equals(ip)) throw new IllegalArgumentException("node " + name + ": address " + ip
                    + " is already used by " + n.name());
        }
        int index = nextIndex++;
        NetLab.Node node = new NetLab.Node("external:" + name, index, NetLab.NETNS_PREFIX + runId + "-" + index,
                NetLab.VETH_PREFIX + runId + index, ip);
        nodes.put(node.name(), node);
        NodeNamespaces.create(node, null, bridge, null, "route add " + NetLab.LAB_ROUTE + " dev eth0", false);
        return node;
    }

    @Override
    public synchronized void listen(NetLab.Node node, List<NetLab.Port> ports) {
        lifecycle.ensureOpen();
        String container = containers.get(node);
        StringBuilder script = new StringBuilder();
        for (NetLab.Port port : ports) {
            if (listeners.has(node, port)) continue;
            if (container != null && port.protocol().equals("TCP")) {
                script.append("nc -ll -p ").append(port.port()).append(" -e /bin/sh ").append(HANDLER_IN_CONTAINER)
                        .append(" & ");
                listeners.addInContainer(node, port);
            } else {
                // socat on the host, inside the node's network namespace: UDP in containers, everything in external hosts
                listeners.start(enter(node), node, port, "for " + node.name());
            }
        }
        if (script.length() > 0) {
            // one docker exec for all of a container's TCP listeners
            Cmd.run(CMD_TIMEOUT_MS, "docker", "-H", host, "exec", "-d", container, "sh", "-c", script + "wait").check();
        }
    }

    @Override
    public void awaitListening(Duration timeout) {
        listeners.awaitBound(timeout, 100, lifecycle::ensureOpen, n -> {
            List<String> ss = new ArrayList<>(enter(n));
            ss.addAll(List.of("ss", "-H", "-l", "-n", "-t", "-u"));
            return EchoListeners.boundPorts(CMD_TIMEOUT_MS, ss);
        }, n -> "of " + n.name());
    }

    @Override
    public NetLab.Observation probe(NetLab.Node from, String dstIp, int port, String protocol, Duration timeout) {
        String proto = protocol == null ? "TCP" : protocol.toUpperCase(Locale.ROOT);
        if (proto.equals("ICMP")) return LabProbes.ping(enter(from), dstIp, port, timeout);
        if (!proto.equals("TCP") && !proto.equals("UDP")) {
            return new NetLab.Observation(NetLab.Verdict.ERROR, "protocol " + protocol + " cannot be probed (TCP, UDP or ICMP)", 0);
        }
        String container;
        synchronized (this) {
            lifecycle.ensureOpen();
            container = containers.get(from);
        }
        long ms = LabProbes.boundedMillis(timeout);
        String token = LabProbes.token();
        List<String> cmd;
        long margin;
        if (container != null && proto.equals("TCP")) {
            // busybox nc: -w bounds the connect, in whole seconds
            cmd = List.of("docker", "-H", host, "exec", "-i", container, "nc", "-w",
                    Long.toString(Math.max(1, (ms + 999) / 1000)), dstIp, Integer.toString(port));
            margin = EXEC_MARGIN_MS + 1000;
        } else {
            cmd = LabProbes.socat(enter(from), dstIp, port, proto, ms);
            margin = 1500;
        }
        // stdin stays open until the echo is back: busybox nc may stop reading once its input ends
        return LabProbes.echo(cmd, cmd.get(0), token, ms, margin, true, (e, exited, took) -> {
            if (e.contains("refused")) {
                return new NetLab.Observation(NetLab.Verdict.REFUSED, "connection refused by " + dstIp + ":" + port + "/"
                        + proto + " (nothing listens there)", took);
            }
            if (e.contains("timed out") || !exited || e.isBlank()) {
                return new NetLab.Observation(NetLab.Verdict.DENIED, "no answer within " + ms + " ms", took);
            }
            return new NetLab.Observation(NetLab.Verdict.ERROR, LabProbes.lastLine(e), took);
        });
    }

    @Override
    public void register(AgentSession session, NetLab.Node node, TestCase.Endpoint endpoint) {
        session.watch(node, endpoint.name(), endpoint.namespace(), endpoint.labels());
    }

    @Override
    public void checkEndpoints(TestCase tc, List<AgentSession.Registered> registered, List<Endpoint> seen) {
        List<String> wrong = new ArrayList<>();
        for (AgentSession.Registered r : registered) {
            seen.stream().filter(e -> r.node().hostInterface().equals(e.interfaceName())).findFirst()
                    .filter(e -> !r.namespace().equals(e.namespace()))
                    .ifPresent(e -> wrong.add(r.qualifiedName() + " is in namespace " + e.namespace()));
        }
        if (!wrong.isEmpty()) {
            throw new LabException("the agent's docker source put containers in the wrong namespace ("
                    + String.join(", ", wrong) + "): the lab labels each container " + NAMESPACE_LABEL
                    + "=<namespace>; set namespaceFromLabel=" + NAMESPACE_LABEL + " in etc/io.septum.source.docker.cfg"
                    + " for cases with namespaces other than the source's own");
        }
    }

    @Override
    public String keepNote() {
        return "containers " + network + "-* on network " + network + " of " + host;
    }

    @Override
    public void keep() {
        lifecycle.keep();
    }

    @Override
    public void closeOnShutdownByCaller() {
        lifecycle.handOverHook();
    }

    @Override
    public void close() {
        lifecycle.close(this::closeQuietly);
    }

    private synchronized void closeQuietly() {
        listeners.stopAll();
        boolean leftovers = false;
        if (!containers.isEmpty()) {
            List<String> cmd = new ArrayList<>(List.of("docker", "-H", host, "rm", "-f"));
            cmd.addAll(containers.values());
            Cmd.Result r = Cmd.run(CMD_TIMEOUT_MS, null, cmd);
            leftovers |= !r.ok() && !r.err().contains("No such container");
            containers.clear();
        }
        for (NetLab.Node n : nodes.values()) {
            if (!n.netns().startsWith(NetLab.NETNS_PREFIX)) continue;
            NodeNamespaces.remove(n.netns());
            if (Files.exists(Path.of("/sys/class/net", n.hostInterface()))) NodeNamespaces.deleteLink(null, n.hostInterface());
        }
        nodes.clear();
        if (networkCreated) {
            Cmd.Result r = Cmd.run(CMD_TIMEOUT_MS, "docker", "-H", host, "network", "rm", network);
            leftovers |= !r.ok();
            networkCreated = false;
        }
        LabRuns.deleteTree(dir);
        if (!leftovers) LabRuns.deleteOwner(runId);
    }

    /**
     * Removes the containers and networks of docker labs of {@code kind} in the engine at {@code host} whose owning
     * process is gone (see {@link NetLab#isStaleRun(String)}); objects no owner file claims are left alone.
     */
    public static List<String> cleanupStale(String host, String kind) {
        List<String> removed = new ArrayList<>();
        Cmd.Result ps = Cmd.run(CMD_TIMEOUT_MS, "docker", "-H", host, "ps", "-a", "--filter",
                "name=" + NetLab.NETNS_PREFIX + kind, "--format", "{{.Names}}");
        if (!ps.ok()) return removed;
        for (String name : ps.out().split("\\s+")) {
            var m = CONTAINER.matcher(name);
            if (!m.matches() || !m.group(1).startsWith(kind) || !LabRuns.isStaleRun(m.group(1))) continue;
            if (Cmd.run(CMD_TIMEOUT_MS, "docker", "-H", host, "rm", "-f", name).ok()) removed.add("container " + name);
        }
        Cmd.Result nets = Cmd.run(CMD_TIMEOUT_MS, "docker", "-H", host, "network", "ls", "--filter",
                "name=" + NetLab.NETNS_PREFIX + kind, "--format", "{{.Name}}");
        for (String name : nets.out().split("\\s+")) {
            var m = NETWORK.matcher(name);
            if (!m.matches() || !m.group(1).startsWith(kind) || !LabRuns.isStaleRun(m.group(1))) continue;
            if (Cmd.run(CMD_TIMEOUT_MS, "docker", "-H", host, "network", "rm", name).ok()) removed.add("network " + name);
        }
        return removed;
    }

    // ---- internals ---------------------------------------------------------------------------------------

    private void createNetwork() {
        // another network may hold the subnet: try a few others
        String last = "";
        for (int attempt = 0; attempt < 10; attempt++) {
            int s = attempt == 0 ? subnet : 1 + LabRuns.RANDOM.nextInt(254);
            Cmd.Result r = Cmd.run(CMD_TIMEOUT_MS, "docker", "-H", host, "network", "create", "--driver", "bridge",
                    "--subnet", "10.197." + s + ".0/24", "--gateway", "10.197." + s + ".1",
                    "-o", "com.docker.network.bridge.name=" + bridge, network);
            if (r.ok()) {
                networkCreated = true;
                subnet = s;
                return;
            }
            last = r.err().strip();
            if (!last.contains("overlap")) break;
        }
        throw new LabException("cannot create the Docker network " + network + ": " + last);
    }

    private String docker(String... args) {
        List<String> cmd = new ArrayList<>(List.of("docker", "-H", host));
        cmd.addAll(List.of(args));
        return Cmd.run(CMD_TIMEOUT_MS, null, cmd).check().out();
    }

    /** The command prefix that runs a host tool in a node's network namespace. */
    private static List<String> enter(NetLab.Node node) {
        String path = node.netns().startsWith("/") ? node.netns() : "/run/netns/" + node.netns();
        return List.of("nsenter", "--net=" + path);
    }

    private static Optional<String> hostLink(String ifindex) {
        try (Stream<Path> s = Files.list(Path.of("/sys/class/net"))) {
            return s.filter(p -> ifindex.equals(LabRuns.readQuietly(p.resolve("ifindex")).strip()))
                    .map(p -> p.getFileName().toString()).findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** A container hostname from a case name: at most 63 characters of letters, digits and '-'. */
    private static String hostname(String name) {
        String h = name.replaceAll("[^A-Za-z0-9-]", "-");
        h = h.length() > 63 ? h.substring(0, 63) : h;
        return h.isEmpty() || h.startsWith("-") ? "lab" + h : h;
    }

    @Override
    public String toString() {
        return "DockerLab[" + runId + " on " + host + ", " + nodes.size() + " nodes]";
    }
}
