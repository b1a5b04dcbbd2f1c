package io.septum.cli.connectivity;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A test topology made of real kernel objects, for {@code connectivity test}, {@code demo starwars} and the tests.
 *
 * <p>Every node is a network namespace {@code sept-<run>-<n>} whose {@code eth0} is one end of a veth pair; the
 * host end {@code sv<run><n>} is a port of the bridge {@code sbr<run>} in the root namespace, so all nodes share
 * one L2 segment and the datapath's tc programs on the host ends see every packet. Endpoints get
 * {@code 10.199.<subnet>.<n>/32}, external hosts keep the address their case gives them, and every namespace routes
 * {@code 10.192.0.0/10} straight out of {@code eth0}. The bridge holds {@code 10.199.<subnet>.254/24}: the host's
 * own address on the segment, from which the L7 proxy opens its upstream connections to the endpoints.
 * IPv6 is switched off on every lab interface so that neighbour discovery does not clutter the datapath's events.
 *
 * <p>Listeners are socat processes inside the namespaces: on a TCP port, an echo server that answers HTTP
 * requests like the seed's deathstar ({@code POST /v1/request-landing} gives {@code Ship landed}); on a UDP port,
 * a datagram echo. Probes run inside the source namespace: allowed means the echo came back before the timeout,
 * denied means no answer in time.
 *
 * <p>{@link #close()} removes every namespace, link, bridge, process and file the lab made, even after a failure
 * (a JVM shutdown hook calls it too). A lab killed with {@code kill -9} leaves its objects behind;
 * {@link #cleanupStale(String)} removes the objects of labs whose owning process is gone. Counts and times are
 * bounded: at most {@link #MAX_NODES} nodes, every command has a deadline.
 */
public final class NetLab implements AutoCloseable {
    /** Prefix of every network namespace the lab makes. */
    public static final String NETNS_PREFIX = "sept-";
    /** Prefix of the host ends of the veth pairs. */
    public static final String VETH_PREFIX = "sv";
    /** Prefix of the bridge. */
    public static final String BRIDGE_PREFIX = "sbr";
    /** The route every namespace gets: endpoints (10.199/16) and external hosts (10.198/16) are on-link. */
    public static final String LAB_ROUTE = "10.192.0.0/10";
    public static final int MAX_NODES = 64;
    public static final int MAX_PORTS_PER_NODE = 32;
    /** A run id is one lower-case letter (who made it) and four hex digits. */
    static final int RUN_ID_LENGTH = 5;
    private static final Pattern RUN_ID = Pattern.compile("[a-z][0-9a-f]{4}");
    private static final long CMD_TIMEOUT_MS = 10_000;
    private static final SecureRandom RANDOM = new SecureRandom();
    /** The file in a lab's directory that lists the processes it runs besides its listeners. */
    private static final String PROCESSES = "processes";

    private final String runId;
    /** The namespace that holds the bridge and the host ends (a multi-node lab's node), or null for the root. */
    private final String parent;
    private final int subnet;
    private final Path dir;
    private final Path handler;
    private final String bridge;
    private final Map<String, Node> nodes = new LinkedHashMap<>();
    private final List<Listener> listeners = new ArrayList<>();
    private final List<Process> tracked = new ArrayList<>();
    private final Thread shutdownHook;
    private boolean bridgeCreated;
    private boolean closed;
    private int nextEndpoint = 1;

    /** One namespace of the lab. {@code index} is the number in its names. */
    public record Node(String name, int index, String netns, String hostInterface, String ip) {
    }

    /** A listening port: {@code 80} (TCP) or {@code 53/UDP}. */
    public record Port(int port, String protocol) {
        public Port {
            if (port < 1 || port > 65535) throw new IllegalArgumentException("port " + port + " is outside 1-65535");
            protocol = protocol == null ? "TCP" : protocol.toUpperCase(Locale.ROOT);
            if (!protocol.equals("TCP") && !protocol.equals("UDP")) {
                throw new IllegalArgumentException("protocol " + protocol + " of port " + port
                        + " cannot be probed (expected TCP or UDP)");
            }
        }

        /** Parses {@code 80}, {@code 80/TCP} or {@code 53/UDP}. */
        public static Port parse(String text) {
            String s = text.trim();
            int slash = s.indexOf('/');
            try {
                return slash < 0 ? new Port(Integer.parseInt(s), "TCP")
                        : new Port(Integer.parseInt(s.substring(0, slash).trim()), s.substring(slash + 1).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad port \"" + text + "\" (expected e.g. 80 or 53/UDP)");
            }
        }

        @Override
        public String toString() {
            return port + "/" + protocol;
        }
    }

    /** What a probe saw. */
    public enum Verdict {
        /** The connection completed and the echo came back in time. */
        ALLOWED("allow"),
        /** Nothing came back in time: what a policy drop looks like. */
        DENIED("deny"),
        /** The destination refused (TCP RST or ICMP port unreachable): no listener, a lab problem. */
        REFUSED("refused"),
        /** The probe could not be sent (no route, tool failure). */
        ERROR("error");

        private final String text;

        Verdict(String text) {
            this.text = text;
        }

        /** {@code allow}/{@code deny} as cases spell expectations, {@code refused}/{@code error} otherwise. */
        public String text() {
            return text;
        }
    }

    /** The outcome of one probe. */
    public record Observation(Verdict verdict, String detail, long millis) {
    }

    /** The outcome of one HTTP request made with curl: {@code exit} is curl's exit code (28 = timed out). */
    public record HttpReply(int exit, int status, String body, String error, long millis) {
    }

    private record Listener(Node node, Port port, Process process, Path log) {
    }

    private NetLab(String runId, String parent, int subnet, Path dir) {
        this.runId = runId;
        this.parent = parent;
        this.subnet = subnet;
        this.dir = dir;
        this.handler = dir.resolve("http-echo.sh");
        this.bridge = BRIDGE_PREFIX + runId;
        this.shutdownHook = new Thread(this::closeQuietly, "septum-lab-cleanup-" + runId);
    }

    /**
     * Makes an empty lab. {@code kind} is one lower-case letter that tells whose lab it is in the names
     * ({@code c} connectivity test, {@code d} demo, {@code t} tests), so that cleanups can be scoped.
     */
    public static NetLab create(char kind) {
        return create(kind, null, 0);
    }

    /**
     * Makes an empty lab whose bridge and host ends live in network namespace {@code parent} (a node of a
     * multi-node lab, where that node's agent enforces on them) instead of the root namespace, with endpoint
     * addresses {@code 10.199.<subnet>.<n>} ({@code subnet} 0: a random one). Endpoints of such a lab route the lab
     * range through the bridge's address, so that their node forwards what is not on their own segment.
     */
    public static NetLab create(char kind, String parent, int fixedSubnet) {
        if (kind < 'a' || kind > 'z') throw new IllegalArgumentException("lab kind must be a lower-case letter");
        if (fixedSubnet < 0 || fixedSubnet > 254) throw new IllegalArgumentException("subnet " + fixedSubnet + " is outside 1-254");
        checkTools();
        Path base = stateBase();
        for (int attempt = 0; attempt < 20; attempt++) {
            String id = kind + String.format("%04x", RANDOM.nextInt(1 << 16));
            if (inUse(id)) continue;
            int subnet = fixedSubnet > 0 ? fixedSubnet : 1 + RANDOM.nextInt(254);
            Path dir = base.resolve(id);
            try {
                Files.createDirectories(base);
                Files.createDirectory(dir);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                continue;
            } catch (IOException e) {
                throw new LabException("cannot create the lab's directory " + dir + ": " + e.getMessage(), e);
            }
            NetLab lab = new NetLab(id, parent, subnet, dir);
            lab.writeOwner();
            Runtime.getRuntime().addShutdownHook(lab.shutdownHook);
            return lab;
        }
        throw new LabException("no free lab run id found after 20 attempts; remove leftovers with "
                + "'ip netns list' / 'ip netns del sept-...'");
    }

    public String runId() {
        return runId;
    }

    /** The third octet of this lab's endpoint addresses. */
    public int subnet() {
        return subnet;
    }

    public String bridge() {
        return bridge;
    }

    public synchronized List<Node> nodes() {
        return List.copyOf(nodes.values());
    }

    public synchronized Optional<Node> node(String name) {
        return Optional.ofNullable(nodes.get(name));
    }

    /** Adds an endpoint node with the next address {@code 10.199.<subnet>.<n>}. */
    public synchronized Node addEndpoint(String name) {
        if (nextEndpoint > 250) throw new LabException("too many endpoints in one lab (at most 250)");
        return addNode(name, "10.199." + subnet + "." + nextEndpoint++);
    }

    /** Adds a node with a given IPv4 address (external hosts keep the address their case gives them). */
    public synchronized Node addNode(String name, String ip) {
        ensureOpen();
        if (nodes.containsKey(name)) throw new IllegalArgumentException("the lab already has a node named " + name);
        if (nodes.size() >= MAX_NODES) throw new LabException("too many nodes in one lab (at most " + MAX_NODES + ")");
        if (!ip.matches("10\\.(19[2-9]|2[0-4][0-9]|25[0-5])\\.\\d{1,3}\\.\\d{1,3}")) {
            throw new IllegalArgumentException("node " + name + ": address " + ip + " is outside the lab range "
                    + LAB_ROUTE + " (use 10.198.x.y or 10.199.x.y)");
        }
        for (Node n : nodes.values()) {
            if (n.ip().equals(ip)) throw new IllegalArgumentException("node " + name + ": address " + ip
                    + " is already used by " + n.name());
        }
        if (!bridgeCreated) createBridge();
        int index = nodes.size() + 1;
        Node node = new Node(name, index, NETNS_PREFIX + runId + "-" + index, VETH_PREFIX + runId + index, ip);
        // registered before it exists, so that close() removes a half-made node too
        nodes.put(name, node);
        ip("netns", "add", node.netns());
        // eth0's MAC follows from its address: a case that reuses an address (an external host of an earlier case)
        // is then reachable at once through neighbours' cached entries, instead of after they go stale
        String[] octets = ip.split("\\.");
        String mac = String.format("02:ec:%02x:%02x:%02x:%02x", Integer.parseInt(octets[0]), Integer.parseInt(octets[1]),
                Integer.parseInt(octets[2]), Integer.parseInt(octets[3]));
        ipHere("link", "add", node.hostInterface(), "type", "veth", "peer", "name", "eth0", "address", mac, "netns", node.netns());
        if (parent == null) disableIpv6(node.hostInterface());
        ipHere("link", "set", node.hostInterface(), "master", bridge, "up");
        // in the root every lab address is on the one segment; under a node, only this lab's subnet is, and the
        // node routes the rest (other nodes' endpoints, external hosts) on
        String routes = parent == null ? "route add " + LAB_ROUTE + " dev eth0"
                : "route add 10.199." + subnet + ".0/24 dev eth0\nroute add " + LAB_ROUTE + " via " + hostIp() + " dev eth0 onlink";
        Cmd.run(CMD_TIMEOUT_MS, String.join("\n",
                        "link set lo up",
                        "addr add " + ip + "/32 dev eth0",
                        "link set eth0 up",
                        routes) + "\n",
                List.of("ip", "-n", node.netns(), "-batch", "-")).check();
        Cmd.run(CMD_TIMEOUT_MS, "ip", "netns", "exec", node.netns(),
                "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1").check();
        if (parent == null && !ip.startsWith("10.199." + subnet + ".")) {
            // an external host: the host's own answers to it (the L7 proxy's) go to the bridge, never to a default route
            ipHere("route", "replace", ip + "/32", "dev", bridge);
        }
        return node;
    }

    /** Removes one node: its listeners, namespace and link (an external host a finished case no longer needs). */
    public synchronized void removeNode(Node node) {
        if (nodes.get(node.name()) != node) return;
        for (java.util.Iterator<Listener> it = listeners.iterator(); it.hasNext(); ) {
            Listener l = it.next();
            if (l.node().equals(node)) {
                Cmd.kill(l.process());
                it.remove();
            }
        }
        removeNetns(node.netns());
        Cmd.run(CMD_TIMEOUT_MS, null, ipCommand("link", "del", node.hostInterface()));
        nodes.remove(node.name());
    }

    /** Adds a route inside {@code node}'s namespace: {@code prefix} through {@code via}, a neighbour on its segment. */
    public void route(Node node, String prefix, String via) {
        Cmd.run(CMD_TIMEOUT_MS, "ip", "-n", node.netns(), "route", "replace", prefix, "via", via, "dev", "eth0", "onlink").check();
    }

    /** This lab's directory (removed with the lab): a place for the files of what it runs. */
    public Path dir() {
        return dir;
    }

    /**
     * Makes {@code p} the lab's to stop: {@link #close()} kills it before the namespaces go, and
     * {@link #cleanupStale(String)} kills it when the lab's owner died (its pid and start time are kept in the lab's
     * directory).
     */
    public synchronized void track(Process p) {
        String start = p.info().startInstant().map(i -> Long.toString(i.toEpochMilli())).orElse("0");
        try {
            Files.writeString(dir.resolve(PROCESSES), p.pid() + " " + start + "\n", StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            Cmd.kill(p);
            throw new LabException("cannot record process " + p.pid() + " in " + dir + ": " + e.getMessage(), e);
        }
        tracked.add(p);
    }

    /**
     * Starts listeners in {@code node}: per TCP port an echo server that also answers HTTP, per UDP port a datagram
     * echo. Call {@link #awaitListening(Duration)} before probing.
     */
    public synchronized void listen(Node node, List<Port> ports) {
        ensureOpen();
        long already = listeners.stream().filter(l -> l.node().equals(node)).count();
        if (already + ports.size() > MAX_PORTS_PER_NODE) {
            throw new LabException("too many listening ports on " + node.name() + " (at most " + MAX_PORTS_PER_NODE + ")");
        }
        writeHandler();
        for (Port port : ports) {
            if (listeners.stream().anyMatch(l -> l.node().equals(node) && l.port().equals(port))) continue;
            String address = port.protocol().equals("TCP")
                    ? "TCP4-LISTEN:" + port.port() + ",fork,reuseaddr"
                    : "UDP4-RECVFROM:" + port.port() + ",fork";
            String target = port.protocol().equals("TCP") ? "EXEC:/bin/sh " + handler : "PIPE";
            Path log = dir.resolve("listener-" + node.index() + "-" + port.port() + "-" + port.protocol() + ".log");
            ProcessBuilder pb = new ProcessBuilder("ip", "netns", "exec", node.netns(), "socat", "-T", "10", address, target)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            pb.environment().put("SEPTUM_LAB_NAME", node.name());
            try {
                listeners.add(new Listener(node, port, pb.start(), log));
            } catch (IOException e) {
                throw new LabException("cannot start socat in " + node.netns() + ": " + e.getMessage()
                        + " (install socat: scripts/install-deps.sh)", e);
            }
        }
    }

    /** Waits until every listener is bound, or throws naming the ones that are not (with socat's complaint). */
    public void awaitListening(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<Listener> pending = new ArrayList<>();
            List<Listener> all;
            synchronized (this) {
                ensureOpen();
                all = List.copyOf(listeners);
            }
            Map<Node, Set<String>> bound = new LinkedHashMap<>();
            for (Listener l : all) {
                if (!l.process().isAlive()) {
                    throw new LabException("the " + l.port() + " listener in " + l.node().name() + " (" + l.node().netns()
                            + ") exited: " + readQuietly(l.log()).strip());
                }
                Set<String> ports = bound.computeIfAbsent(l.node(), this::boundPorts);
                if (!ports.contains(l.port().toString())) pending.add(l);
            }
            if (pending.isEmpty()) return;
            if (System.nanoTime() > deadline) {
                throw new LabException("listeners not bound after " + timeout.toMillis() + " ms: " + pending.stream()
                        .map(l -> l.node().name() + ":" + l.port()).toList());
            }
            pause(50);
        }
    }

    /** The ports bound in a node's namespace, as {@code 80/TCP} and {@code 53/UDP}. */
    private Set<String> boundPorts(Node node) {
        Cmd.Result r = Cmd.run(CMD_TIMEOUT_MS, "ss", "-N", node.netns(), "-H", "-l", "-n", "-t", "-u");
        Set<String> out = new HashSet<>();
        if (!r.ok()) return out;
        for (String line : r.out().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 5) continue;
            int colon = f[4].lastIndexOf(':');
            if (colon < 0) continue;
            out.add(f[4].substring(colon + 1) + "/" + f[0].toUpperCase(Locale.ROOT));
        }
        return out;
    }

    /**
     * Sends one probe from inside {@code from}'s namespace: TCP connects and expects its line echoed, UDP sends a
     * datagram and expects it back. Denied means nothing came back within {@code timeout}.
     */
    public Observation probe(Node from, String dstIp, int port, String protocol, Duration timeout) {
        ensureOpen();
        String proto = protocol == null ? "TCP" : protocol.toUpperCase(Locale.ROOT);
        if (proto.equals("ICMP")) return ping(List.of("ip", "netns", "exec", from.netns()), dstIp, port, timeout);
        if (!proto.equals("TCP") && !proto.equals("UDP")) {
            return new Observation(Verdict.ERROR, "protocol " + protocol + " cannot be probed (TCP, UDP or ICMP)", 0);
        }
        long ms = Math.max(100, Math.min(timeout.toMillis(), 30_000));
        String secs = String.format(Locale.ROOT, "%.3f", ms / 1000.0);
        String token = "septum-probe-" + Long.toHexString(RANDOM.nextLong());
        String address = proto.equals("TCP")
                ? "TCP4:" + dstIp + ":" + port + ",connect-timeout=" + secs
                : "UDP4:" + dstIp + ":" + port;
        long start = System.nanoTime();
        Process p;
        try {
            p = new ProcessBuilder("ip", "netns", "exec", from.netns(), "socat", "-t", secs, "-", address).start();
        } catch (IOException e) {
            return new Observation(Verdict.ERROR, "cannot run socat: " + e.getMessage(), 0);
        }
        Cmd.Drain out = new Cmd.Drain(p.getInputStream());
        Cmd.Drain err = new Cmd.Drain(p.getErrorStream());
        out.start();
        err.start();
        try {
            try (var in = p.getOutputStream()) {
                in.write((token + "\n").getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // socat already failed; its stderr says why
            }
            // process start-up and namespace entry get a margin on top of the network timeout
            long deadline = start + TimeUnit.MILLISECONDS.toNanos(ms + 1500);
            while (System.nanoTime() < deadline) {
                if (out.text().contains(token)) {
                    return new Observation(Verdict.ALLOWED, "echo after " + elapsed(start) + " ms", elapsed(start));
                }
                if (p.waitFor(5, TimeUnit.MILLISECONDS)) {
                    out.join(500);
                    err.join(500);
                    if (out.text().contains(token)) {
                        return new Observation(Verdict.ALLOWED, "echo after " + elapsed(start) + " ms", elapsed(start));
                    }
                    break;
                }
            }
            long took = elapsed(start);
            String e = err.text();
            if (e.contains("Connection refused")) {
                return new Observation(Verdict.REFUSED, "connection refused by " + dstIp + ":" + port + "/" + proto
                        + " (nothing listens there)", took);
            }
            if (e.contains("unreachable") || e.contains("Invalid argument") || e.contains("No such file")) {
                return new Observation(Verdict.ERROR, lastLine(e), took);
            }
            return new Observation(Verdict.DENIED, "no answer within " + ms + " ms", took);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Observation(Verdict.ERROR, "interrupted", elapsed(start));
        } finally {
            if (p.isAlive()) Cmd.kill(p);
        }
    }

    /** The one ICMP message the lab sends: an IPv4 echo request (type 8). */
    static final int ICMP_ECHO_REQUEST = 8;

    /**
     * One ICMP echo request with busybox's ping, run after {@code enter} (a command that enters the source's
     * network namespace): allowed when the reply comes back within {@code timeout} (whole seconds, at least one),
     * denied when none does. {@code type} is the probe's ICMP type; only echo requests can be sent.
     */
    static Observation ping(List<String> enter, String dstIp, int type, Duration timeout) {
        if (type != ICMP_ECHO_REQUEST) {
            return new Observation(Verdict.ERROR, "ICMP type " + type + " cannot be probed (the lab sends echo"
                    + " requests, type 8, only)", 0);
        }
        long secs = Math.max(1, Math.min((timeout.toMillis() + 999) / 1000, 30));
        List<String> cmd = new ArrayList<>(enter);
        cmd.addAll(List.of("busybox", "ping", "-4", "-c", "1", "-W", Long.toString(secs), dstIp));
        Cmd.Result r = Cmd.run(secs * 1000 + 1500, null, cmd);
        if (r.ok()) return new Observation(Verdict.ALLOWED, "echo reply after " + r.millis() + " ms", r.millis());
        // busybox ping: exit 1 when no reply came, and a message on stderr when it could not send at all
        if (r.exit() == 1 && r.err().isBlank()) {
            return new Observation(Verdict.DENIED, "no echo reply within " + secs + " s", r.millis());
        }
        return new Observation(Verdict.ERROR, "ping failed (exit " + r.exit() + "): " + lastLine(r.err() + r.out()),
                r.millis());
    }

    /**
     * Makes one HTTP request with curl inside {@code from}'s namespace. A dropped request ends with curl's exit
     * code 28 after {@code timeout}.
     */
    public HttpReply http(Node from, String method, String url, Duration timeout) {
        return http(from, method, url, List.of(), timeout);
    }

    /** The same, with request headers ({@code "Name: value"}). */
    public HttpReply http(Node from, String method, String url, List<String> headers, Duration timeout) {
        ensureOpen();
        long ms = Math.max(100, Math.min(timeout.toMillis(), 30_000));
        String secs = String.format(Locale.ROOT, "%.3f", ms / 1000.0);
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", from.netns(), "curl", "-s", "-S",
                "--max-time", secs, "-o", "-", "-w", "\n%{http_code}"));
        // HEAD with -X would wait for the body its Content-Length announces (curl exit 18): --head does not
        if ("HEAD".equalsIgnoreCase(method)) cmd.add("--head");
        else cmd.addAll(List.of("-X", method));
        for (String h : headers) {
            cmd.add("-H");
            cmd.add(h);
        }
        cmd.add(url);
        Cmd.Result r = Cmd.run(ms + 3000, null, cmd);
        String out = r.out();
        int status = 0;
        String body = out;
        int nl = out.lastIndexOf('\n');
        if (nl >= 0) {
            try {
                status = Integer.parseInt(out.substring(nl + 1).trim());
                body = out.substring(0, nl);
            } catch (NumberFormatException ignored) {
                // no status line: curl failed before it had an answer
            }
        }
        return new HttpReply(r.exit(), status, body, r.err().strip(), r.millis());
    }

    /** Whether {@code name} resolves inside {@code from}'s namespace (its hosts file, as {@code ip netns exec} mounts it). */
    public boolean resolves(Node from, String name) {
        ensureOpen();
        return Cmd.run(CMD_TIMEOUT_MS, null, List.of("ip", "netns", "exec", from.netns(), "getent", "hosts", name)).exit() == 0;
    }

    /**
     * Hands the shutdown cleanup to the caller, whose own hook must call {@link #close()}: an agent session has to
     * delete its endpoints before their namespaces go, and JVM shutdown hooks run in no particular order.
     */
    public void closeOnShutdownByCaller() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // already shutting down
        }
    }

    /**
     * Leaves the lab in place when this process exits ({@code --keep}): no cleanup at shutdown. Its owner file
     * stays, so the next {@link #cleanupStale(String)} of its kind removes it once this process is gone.
     */
    public synchronized void keep() {
        closed = true;
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // already shutting down
        }
    }

    /** Removes everything the lab made. Safe to call more than once; never throws. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        closeQuietly();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // the JVM is shutting down: the hook is what called us, or will find nothing left
        }
    }

    private synchronized void closeQuietly() {
        closed = true;
        for (Listener l : listeners) Cmd.kill(l.process());
        listeners.clear();
        for (Process p : tracked) Cmd.kill(p);
        tracked.clear();
        List<Node> all = new ArrayList<>(nodes.values());
        Collections.reverse(all);
        for (Node n : all) removeNetns(n.netns());
        // under a node, the node's namespace may be gone already, and its links with it
        boolean parentGone = parent != null && !Files.exists(Path.of("/run/netns", parent));
        for (Node n : all) {
            if (parent == null ? Files.exists(Path.of("/sys/class/net", n.hostInterface())) : !parentGone) {
                Cmd.run(CMD_TIMEOUT_MS, null, ipCommand("link", "del", n.hostInterface()));
            }
        }
        if (bridgeCreated) {
            if (!parentGone) Cmd.run(CMD_TIMEOUT_MS, null, ipCommand("link", "del", bridge));
            bridgeCreated = false;
        }
        deleteTree(dir);
        boolean leftovers = (parent == null && Files.exists(Path.of("/sys/class/net", bridge)))
                || all.stream().anyMatch(n -> Files.exists(Path.of("/run/netns", n.netns())));
        nodes.clear();
        // the owner file is what lets cleanupStale find what a failed close left behind
        if (leftovers) return;
        try {
            Files.deleteIfExists(stateBase().resolve(runId + ".owner"));
        } catch (IOException ignored) {
            // a leftover owner file without objects is harmless; cleanupStale removes it
        }
    }

    /**
     * Removes the namespaces, links and files of labs whose owning process is gone (their owner file says so), for
     * run ids starting with {@code prefix} (e.g. {@code "c"} for connectivity tests, {@code ""} for all). Labs of
     * live processes, and objects no owner file claims, are left alone. Returns what it removed.
     */
    public static List<String> cleanupStale(String prefix) {
        List<String> removed = new ArrayList<>();
        Set<String> stale = new HashSet<>();
        Cmd.Result ns = Cmd.run(CMD_TIMEOUT_MS, "ip", "netns", "list");
        for (String line : ns.out().split("\n")) {
            String name = line.trim().split("\\s+")[0];
            String id = runIdOf(name, NETNS_PREFIX);
            if (id == null || !id.startsWith(prefix)) continue;
            if (!stale.contains(id) && !isStale(id)) continue;
            stale.add(id);
            removeNetns(name);
            removed.add("netns " + name);
        }
        Cmd.Result links = Cmd.run(CMD_TIMEOUT_MS, "ip", "-o", "link", "show");
        for (String line : links.out().split("\n")) {
            String[] f = line.split(":\\s+", 3);
            if (f.length < 2) continue;
            String name = f[1].split("@")[0].trim();
            String id = name.startsWith(BRIDGE_PREFIX) ? runIdOf(name, BRIDGE_PREFIX) : runIdOf(name, VETH_PREFIX);
            if (id == null || !id.startsWith(prefix)) continue;
            if (!stale.contains(id) && !isStale(id)) continue;
            stale.add(id);
            Cmd.run(CMD_TIMEOUT_MS, "ip", "link", "del", name);
            removed.add("link " + name);
        }
        Path base = stateBase();
        try (Stream<Path> s = Files.exists(base) ? Files.list(base) : Stream.empty()) {
            for (Path p : s.toList()) {
                String file = p.getFileName().toString();
                String id = file.endsWith(".owner") ? file.substring(0, file.length() - ".owner".length()) : file;
                if (!RUN_ID.matcher(id).matches() || !id.startsWith(prefix)) continue;
                if (!stale.contains(id) && !isStale(id)) continue;
                stale.add(id);
                if (Files.isDirectory(p)) killRecorded(p.resolve(PROCESSES));
                deleteTree(p);
                removed.add("file " + p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return removed;
    }

    /** Whether lab {@code runId} is a leftover: its owner file names a process that is gone. */
    public static boolean isStaleRun(String runId) {
        return RUN_ID.matcher(runId).matches() && isStale(runId);
    }

    /** Whether any namespace of lab {@code runId} still exists. */
    public static boolean labExists(String runId) {
        try (Stream<Path> s = Files.list(Path.of("/run/netns"))) {
            return s.anyMatch(p -> runId.equals(runIdOf(p.getFileName().toString(), NETNS_PREFIX)));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * A warning when the host's br_netfilter module sends bridged traffic through iptables: a FORWARD policy of
     * DROP (Docker sets one) then drops lab traffic before the datapath decides. Empty when bridged traffic
     * bypasses iptables. The lab never changes host sysctls.
     */
    public static Optional<String> bridgeNetfilterWarning() {
        Path p = Path.of("/proc/sys/net/bridge/bridge-nf-call-iptables");
        if (!Files.exists(p)) return Optional.empty();
        String v = readQuietly(p).trim();
        if (!"1".equals(v)) return Optional.empty();
        // an accepting FORWARD chain without rules lets bridged traffic through untouched
        Cmd.Result fwd = Cmd.run(CMD_TIMEOUT_MS, "iptables", "-w", "-S", "FORWARD");
        if (fwd.ok() && fwd.out().strip().equals("-P FORWARD ACCEPT")) return Optional.empty();
        return Optional.of("br_netfilter is loaded and net.bridge.bridge-nf-call-iptables=1: bridged lab traffic also"
                + " passes the host's iptables FORWARD chain, which may drop it (check 'iptables -S FORWARD'; Docker"
                + " sets its policy to DROP). Set 'sysctl net.bridge.bridge-nf-call-iptables=0' or allow the lab's"
                + " bridges (sbr*) in FORWARD");
    }

    // ---- internals ---------------------------------------------------------------------------------------

    private void createBridge() {
        // a fixed address: a bridge without one takes its lowest port's, and changes it as ports come and go (an
        // external host of a finished case), which leaves its neighbours sending to a MAC nobody has for seconds
        byte[] mac = new byte[4];
        RANDOM.nextBytes(mac);
        String address = String.format("02:53:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3]);
        ipHere("link", "add", bridge, "address", address, "type", "bridge");
        bridgeCreated = true;
        if (parent == null) disableIpv6(bridge);
        ipHere("addr", "add", hostIp() + "/24", "dev", bridge);
        ipHere("link", "set", bridge, "up");
    }

    /** The host's address on the lab's segment (the bridge's). */
    public String hostIp() {
        return "10.199." + subnet + ".254";
    }

    private static void ip(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("ip");
        cmd.addAll(List.of(args));
        Cmd.run(CMD_TIMEOUT_MS, null, cmd).check();
    }

    /** {@code ip} in the namespace that holds the bridge: the root's, or the parent node's. */
    private void ipHere(String... args) {
        Cmd.run(CMD_TIMEOUT_MS, null, ipCommand(args)).check();
    }

    private List<String> ipCommand(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("ip");
        if (parent != null) {
            cmd.add("-n");
            cmd.add(parent);
        }
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static void disableIpv6(String ifname) {
        Path p = Path.of("/proc/sys/net/ipv6/conf", ifname, "disable_ipv6");
        try {
            if (Files.exists(p)) Files.writeString(p, "1");
        } catch (IOException ignored) {
            // IPv6 noise is harmless to the probes, only to the event listing
        }
    }

    private static void removeNetns(String netns) {
        Cmd.Result pids = Cmd.run(CMD_TIMEOUT_MS, "ip", "netns", "pids", netns);
        if (pids.ok()) {
            for (String s : pids.out().split("\\s+")) {
                if (s.isBlank()) continue;
                try {
                    ProcessHandle.of(Long.parseLong(s.trim())).ifPresent(Cmd::kill);
                } catch (NumberFormatException ignored) {
                    // not a pid
                }
            }
        }
        Cmd.run(CMD_TIMEOUT_MS, "ip", "netns", "del", netns);
    }

    private void writeHandler() {
        if (Files.exists(handler)) return;
        // dash-compatible: the first line decides between an HTTP answer and a plain echo
        String script = String.join("\n",
                "cr=$(printf '\\r')",
                "IFS= read -r line || exit 0",
                "case \"$line\" in",
                "  [A-Z]*\" HTTP/1.\"*)",
                "    while IFS= read -r h; do case \"$h\" in \"\"|\"$cr\") break;; esac; done",
                "    set -- $line",
                "    case \"$1 $2\" in",
                "      \"POST /v1/request-landing\") body=\"Ship landed\";;",
                "      \"PUT /v1/exhaust-port\") body=\"Panic: deathstar exploded\";;",
                "      *) body=\"$1 $2 answered by $SEPTUM_LAB_NAME\";;",
                "    esac",
                "    printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: %d\\r\\n"
                        + "Connection: close\\r\\n\\r\\n%s\\n' $((${#body}+1)) \"$body\"",
                "    ;;",
                "  *) printf '%s\\n' \"$line\"; exec cat;;",
                "esac",
                "");
        try {
            Files.writeString(handler, script);
        } catch (IOException e) {
            throw new LabException("cannot write the listener script " + handler + ": " + e.getMessage(), e);
        }
    }

    private void writeOwner() {
        ProcessHandle self = ProcessHandle.current();
        String start = self.info().startInstant().map(i -> Long.toString(i.toEpochMilli())).orElse("0");
        try {
            Files.writeString(stateBase().resolve(runId + ".owner"), self.pid() + " " + start + " " + subnet + "\n");
        } catch (IOException e) {
            throw new LabException("cannot write the lab's owner file in " + stateBase() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Whether lab {@code id} was made by a process that is gone. Objects without an owner file are not provably
     * a lab's (other tests use {@code sept-} names too) and are never touched.
     */
    private static boolean isStale(String id) {
        Path owner = stateBase().resolve(id + ".owner");
        if (!Files.exists(owner)) return false;
        return !ownerAlive(readQuietly(owner));
    }

    /** Whether the process named in an owner file still runs (same pid and start time). */
    private static boolean ownerAlive(String ownerFile) {
        String[] f = ownerFile.trim().split("\\s+");
        if (f.length < 2) return false;
        try {
            long pid = Long.parseLong(f[0]);
            long start = Long.parseLong(f[1]);
            Optional<ProcessHandle> h = ProcessHandle.of(pid);
            if (h.isEmpty() || !h.get().isAlive()) return false;
            long actual = h.get().info().startInstant().map(i -> i.toEpochMilli()).orElse(0L);
            return start == 0 || actual == 0 || Math.abs(actual - start) < 2000;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static boolean inUse(String id) {
        return Files.exists(stateBase().resolve(id + ".owner")) || Files.exists(stateBase().resolve(id))
                || Files.exists(Path.of("/sys/class/net", BRIDGE_PREFIX + id))
                || Files.exists(Path.of("/run/netns", NETNS_PREFIX + id + "-1"));
    }

    /** The run id inside a lab object's name, or null when the name is not a lab's. */
    public static String runIdOf(String name, String prefix) {
        if (!name.startsWith(prefix) || name.length() < prefix.length() + RUN_ID_LENGTH) return null;
        String id = name.substring(prefix.length(), prefix.length() + RUN_ID_LENGTH);
        if (!RUN_ID.matcher(id).matches()) return null;
        String rest = name.substring(prefix.length() + RUN_ID_LENGTH);
        boolean ok = switch (prefix) {
            case NETNS_PREFIX -> rest.matches("-\\d+");
            case VETH_PREFIX -> rest.matches("\\d+");
            case BRIDGE_PREFIX -> rest.isEmpty();
            default -> false;
        };
        return ok ? id : null;
    }

    /** Where labs keep their owner files and listener scripts: a tmpfs, so a reboot forgets them with the objects. */
    static Path stateBase() {
        String override = System.getProperty("septum.lab.dir");
        if (override != null && !override.isBlank()) return Path.of(override);
        Path run = Path.of("/run");
        return Files.isWritable(run) ? run.resolve("septum-lab") : Path.of(System.getProperty("java.io.tmpdir"), "septum-lab");
    }

    private static void checkTools() {
        for (String tool : List.of("ip", "socat", "ss")) {
            boolean found = Stream.of(System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"))
                    .anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
            if (!found) {
                throw new LabException(tool + " is not installed; the lab needs iproute2, socat and curl "
                        + "(scripts/install-deps.sh installs them)");
            }
        }
    }

    private void ensureOpen() {
        if (closed) throw new LabException("lab " + runId + " is closed (the command is shutting down)");
    }

    private static long elapsed(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    private static String lastLine(String s) {
        String[] lines = s.strip().split("\n");
        String l = lines[lines.length - 1];
        Matcher m = Pattern.compile("socat\\[\\d+\\] E (.*)").matcher(l);
        return m.find() ? m.group(1) : l;
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LabException("interrupted while waiting for the lab", e);
        }
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    /** Kills the processes a lab recorded ({@link #track}) that still run with the recorded start time. */
    private static void killRecorded(Path file) {
        for (String line : readQuietly(file).split("\n")) {
            if (line.isBlank()) continue;
            // a pid is killed only when its start time was recorded and still matches: never whatever reuses the pid
            String[] f = line.trim().split("\\s+");
            if (f.length < 2 || f[1].equals("0") || !ownerAlive(line)) continue;
            long actual = ProcessHandle.of(Long.parseLong(f[0])).flatMap(h -> h.info().startInstant())
                    .map(java.time.Instant::toEpochMilli).orElse(0L);
            if (actual == 0) continue;
            try {
                ProcessHandle.of(Long.parseLong(line.trim().split("\\s+")[0])).ifPresent(Cmd::kill);
            } catch (NumberFormatException ignored) {
                // not a pid line
            }
        }
    }

    /**
     * Unmounts what is mounted under {@code p} (a multi-node lab mounts a bpffs per node there), deepest first, so
     * that the tree can be removed.
     */
    private static void unmountUnder(Path p) {
        String prefix = p.toAbsolutePath().normalize() + "/";
        List<String> mounts = new ArrayList<>();
        for (String line : readQuietly(Path.of("/proc/self/mounts")).split("\n")) {
            String[] f = line.split(" ");
            if (f.length > 1 && f[1].startsWith(prefix)) mounts.add(f[1]);
        }
        mounts.sort(Comparator.comparing(String::length).reversed());
        for (String m : mounts) Cmd.run(CMD_TIMEOUT_MS, "umount", "-l", m);
    }

    private static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        unmountUnder(p);
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        } catch (IOException ignored) {
            // leftovers are removed by cleanupStale
        }
    }

    @Override
    public String toString() {
        return "NetLab[" + runId + ", " + nodes.size() + " nodes]";
    }
}
