package io.septum.cli.connectivity;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

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
 * <p>Listeners are socat processes inside the namespaces ({@link EchoListeners}): on a TCP port, an echo server
 * that answers HTTP requests like the seed's deathstar ({@code POST /v1/request-landing} gives {@code Ship landed});
 * on a UDP port, a datagram echo. Probes ({@link LabProbes}) run inside the source namespace: allowed means the echo
 * came back before the timeout, denied means no answer in time.
 *
 * <p>{@link #close()} removes every namespace, link, bridge, process and file the lab made, even after a failure
 * (a JVM shutdown hook calls it too). A lab killed with {@code kill -9} leaves its objects behind;
 * {@link #cleanupStale(String)} removes the objects of labs whose owning process is gone ({@link LabRuns} keeps the
 * owner files that tell). Each node's namespace and veth are made by {@link NodeNamespaces}. Counts and times are
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
    private static final long CMD_TIMEOUT_MS = 10_000;

    private final String runId;
    /** The namespace that holds the bridge and the host ends (a multi-node lab's node), or null for the root. */
    private final String parent;
    private final int subnet;
    private final Path dir;
    private final String bridge;
    private final Map<String, Node> nodes = new LinkedHashMap<>();
    private final EchoListeners listeners;
    private final List<Process> tracked = new ArrayList<>();
    private final LabLifecycle lifecycle;
    private boolean bridgeCreated;
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

    private NetLab(String runId, String parent, int subnet, Path dir) {
        this.runId = runId;
        this.parent = parent;
        this.subnet = subnet;
        this.dir = dir;
        this.bridge = BRIDGE_PREFIX + runId;
        this.listeners = new EchoListeners(dir);
        this.lifecycle = new LabLifecycle(runId, "septum-lab-cleanup-" + runId, this::closeQuietly);
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
        LabRuns.checkKind(kind);
        if (fixedSubnet < 0 || fixedSubnet > 254) throw new IllegalArgumentException("subnet " + fixedSubnet + " is outside 1-254");
        LabRuns.requireTools(List.of("ip", "socat", "ss"),
                "the lab needs iproute2, socat and curl (scripts/install-deps.sh installs them)");
        LabRuns.Run run = LabRuns.allocate(kind, NetLab::inUse,
                "remove leftovers with 'ip netns list' / 'ip netns del sept-...'");
        int subnet = fixedSubnet > 0 ? fixedSubnet : 1 + LabRuns.RANDOM.nextInt(254);
        NetLab lab = new NetLab(run.id(), parent, subnet, run.dir());
        LabRuns.writeOwner(run.id(), Integer.toString(subnet));
        lab.lifecycle.installHook();
        return lab;
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
        lifecycle.ensureOpen();
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
        // eth0's MAC follows from its address: a case that reuses an address (an external host of an earlier case)
        // is then reachable at once through neighbours' cached entries, instead of after they go stale
        String[] octets = ip.split("\\.");
        String mac = String.format("02:ec:%02x:%02x:%02x:%02x", Integer.parseInt(octets[0]), Integer.parseInt(octets[1]),
                Integer.parseInt(octets[2]), Integer.parseInt(octets[3]));
        // in the root every lab address is on the one segment; under a node, only this lab's subnet is, and the
        // node routes the rest (other nodes' endpoints, external hosts) on
        String routes = parent == null ? "route add " + LAB_ROUTE + " dev eth0"
                : "route add 10.199." + subnet + ".0/24 dev eth0\nroute add " + LAB_ROUTE + " via " + hostIp() + " dev eth0 onlink";
        NodeNamespaces.create(node, parent, bridge, mac, routes, true);
        if (parent == null && !ip.startsWith("10.199." + subnet + ".")) {
            // an external host: the host's own answers to it (the L7 proxy's) go to the bridge, never to a default route
            NodeNamespaces.ip(null, "route", "replace", ip + "/32", "dev", bridge);
        }
        return node;
    }

    /** Removes one node: its listeners, namespace and link (an external host a finished case no longer needs). */
    public synchronized void removeNode(Node node) {
        if (nodes.get(node.name()) != node) return;
        listeners.stop(node);
        NodeNamespaces.remove(node.netns());
        NodeNamespaces.deleteLink(parent, node.hostInterface());
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
        LabRuns.recordProcess(dir, p);
        tracked.add(p);
    }

    /**
     * Starts listeners in {@code node}: per TCP port an echo server that also answers HTTP, per UDP port a datagram
     * echo. Call {@link #awaitListening(Duration)} before probing.
     */
    public synchronized void listen(Node node, List<Port> ports) {
        lifecycle.ensureOpen();
        if (listeners.count(node) + ports.size() > MAX_PORTS_PER_NODE) {
            throw new LabException("too many listening ports on " + node.name() + " (at most " + MAX_PORTS_PER_NODE + ")");
        }
        for (Port port : ports) {
            if (listeners.has(node, port)) continue;
            listeners.start(enter(node), node, port, "in " + node.netns());
        }
    }

    /** Waits until every listener is bound, or throws naming the ones that are not (with socat's complaint). */
    public void awaitListening(Duration timeout) {
        listeners.awaitBound(timeout, 50, lifecycle::ensureOpen,
                n -> EchoListeners.boundPorts(CMD_TIMEOUT_MS, List.of("ss", "-N", n.netns(), "-H", "-l", "-n", "-t", "-u")),
                n -> "in " + n.name() + " (" + n.netns() + ")");
    }

    /**
     * Sends one probe from inside {@code from}'s namespace: TCP connects and expects its line echoed, UDP sends a
     * datagram and expects it back. Denied means nothing came back within {@code timeout}.
     */
    public Observation probe(Node from, String dstIp, int port, String protocol, Duration timeout) {
        lifecycle.ensureOpen();
        String proto = protocol == null ? "TCP" : protocol.toUpperCase(Locale.ROOT);
        if (proto.equals("ICMP")) return LabProbes.ping(enter(from), dstIp, port, timeout);
        if (!proto.equals("TCP") && !proto.equals("UDP")) {
            return new Observation(Verdict.ERROR, "protocol " + protocol + " cannot be probed (TCP, UDP or ICMP)", 0);
        }
        long ms = LabProbes.boundedMillis(timeout);
        // process start-up and namespace entry get a margin on top of the network timeout
        return LabProbes.echo(LabProbes.socat(enter(from), dstIp, port, proto, ms), "socat", LabProbes.token(), ms, 1500,
                false, LabProbes.socatVerdict(dstIp + ":" + port + "/" + proto, ms));
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
        lifecycle.ensureOpen();
        return LabProbes.http(enter(from), method, url, headers, timeout);
    }

    /** Runs a DNS server in {@code node} answering the names of {@code records} (name to address); see {@link EchoListeners#startDns}. */
    public synchronized void serveDns(Node node, Map<String, String> records) {
        lifecycle.ensureOpen();
        listeners.startDns(enter(node), node, node.ip(), records, "in " + node.netns());
    }

    /** Looks {@code name} up (type A) at {@code serverIp} from inside {@code from}'s namespace. */
    public Lookup lookup(Node from, String name, String serverIp, Duration timeout) {
        lifecycle.ensureOpen();
        return LabProbes.lookup(enter(from), name, serverIp, timeout);
    }

    /** A lookup's answer: the addresses, or why there are none ({@code REFUSED}, {@code NXDOMAIN}, no answer). */
    public record Lookup(List<String> addresses, String detail) {
    }

    /** Whether {@code name} resolves inside {@code from}'s namespace (its hosts file, as {@code ip netns exec} mounts it). */
    public boolean resolves(Node from, String name) {
        lifecycle.ensureOpen();
        return Cmd.run(CMD_TIMEOUT_MS, null, List.of("ip", "netns", "exec", from.netns(), "getent", "hosts", name)).exit() == 0;
    }

    /** The command prefix that runs a host tool in a node's namespace. */
    private static List<String> enter(Node node) {
        return List.of("ip", "netns", "exec", node.netns());
    }

    /**
     * Hands the shutdown cleanup to the caller, whose own hook must call {@link #close()}: an agent session has to
     * delete its endpoints before their namespaces go, and JVM shutdown hooks run in no particular order.
     */
    public void closeOnShutdownByCaller() {
        lifecycle.handOverHook();
    }

    /**
     * Leaves the lab in place when this process exits ({@code --keep}): no cleanup at shutdown. Its owner file
     * stays, so the next {@link #cleanupStale(String)} of its kind removes it once this process is gone.
     */
    public void keep() {
        lifecycle.keep();
    }

    /** Removes everything the lab made. Safe to call more than once; never throws. */
    @Override
    public void close() {
        lifecycle.close(this::closeQuietly);
    }

    private synchronized void closeQuietly() {
        listeners.stopAll();
        for (Process p : tracked) Cmd.kill(p);
        tracked.clear();
        List<Node> all = new ArrayList<>(nodes.values());
        Collections.reverse(all);
        for (Node n : all) NodeNamespaces.remove(n.netns());
        // under a node, the node's namespace may be gone already, and its links with it
        boolean parentGone = parent != null && !Files.exists(Path.of("/run/netns", parent));
        for (Node n : all) {
            if (parent == null ? Files.exists(Path.of("/sys/class/net", n.hostInterface())) : !parentGone) {
                NodeNamespaces.deleteLink(parent, n.hostInterface());
            }
        }
        if (bridgeCreated) {
            if (!parentGone) NodeNamespaces.deleteLink(parent, bridge);
            bridgeCreated = false;
        }
        LabRuns.deleteTree(dir);
        boolean leftovers = (parent == null && Files.exists(Path.of("/sys/class/net", bridge)))
                || all.stream().anyMatch(n -> Files.exists(Path.of("/run/netns", n.netns())));
        nodes.clear();
        // the owner file is what lets cleanupStale find what a failed close left behind
        if (!leftovers) LabRuns.deleteOwner(runId);
    }

    /**
     * Removes the namespaces, links and files of labs whose owning process is gone (their owner file says so), for
     * run ids starting with {@code prefix} (e.g. {@code "c"} for connectivity tests, {@code ""} for all). Labs of
     * live processes, and objects no owner file claims, are left alone. Returns what it removed.
     */
    public static List<String> cleanupStale(String prefix) {
        return StaleLabs.cleanup(prefix);
    }

    /** Whether lab {@code runId} is a leftover: its owner file names a process that is gone. */
    public static boolean isStaleRun(String runId) {
        return LabRuns.isStaleRun(runId);
    }

    /** Whether any namespace of lab {@code runId} still exists. */
    public static boolean labExists(String runId) {
        return StaleLabs.exists(runId);
    }

    /**
     * A warning when the host's br_netfilter module sends bridged traffic through iptables: a FORWARD policy of
     * DROP (Docker sets one) then drops lab traffic before the datapath decides. Empty when bridged traffic
     * bypasses iptables. The lab never changes host sysctls.
     */
    public static Optional<String> bridgeNetfilterWarning() {
        Path p = Path.of("/proc/sys/net/bridge/bridge-nf-call-iptables");
        if (!Files.exists(p)) return Optional.empty();
        String v = LabRuns.readQuietly(p).trim();
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
        LabRuns.RANDOM.nextBytes(mac);
        String address = String.format("02:53:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3]);
        NodeNamespaces.ip(parent, "link", "add", bridge, "address", address, "type", "bridge");
        bridgeCreated = true;
        if (parent == null) NodeNamespaces.disableIpv6(bridge);
        NodeNamespaces.ip(parent, "addr", "add", hostIp() + "/24", "dev", bridge);
        NodeNamespaces.ip(parent, "link", "set", bridge, "up");
    }

    /** The host's address on the lab's segment (the bridge's). */
    public String hostIp() {
        return "10.199." + subnet + ".254";
    }

    private static boolean inUse(String id) {
        return Files.exists(LabRuns.ownerFile(id)) || Files.exists(stateBase().resolve(id))
                || Files.exists(Path.of("/sys/class/net", BRIDGE_PREFIX + id))
                || Files.exists(Path.of("/run/netns", NETNS_PREFIX + id + "-1"));
    }

    /** The run id inside a lab object's name, or null when the name is not a lab's. */
    public static String runIdOf(String name, String prefix) {
        int length = LabRuns.RUN_ID_LENGTH;
        if (!name.startsWith(prefix) || name.length() < prefix.length() + length) return null;
        String id = name.substring(prefix.length(), prefix.length() + length);
        if (!LabRuns.RUN_ID.matcher(id).matches()) return null;
        String rest = name.substring(prefix.length() + length);
        boolean ok = switch (prefix) {
            case NETNS_PREFIX -> rest.matches("-\\d+");
            case VETH_PREFIX -> rest.matches("\\d+");
            case BRIDGE_PREFIX -> rest.isEmpty();
            default -> false;
        };
        return ok ? id : null;
    }

    /** Where labs keep their owner files and listener scripts (see {@link LabRuns#stateBase()}). */
    static Path stateBase() {
        return LabRuns.stateBase();
    }

    @Override
    public String toString() {
        return "NetLab[" + runId + ", " + nodes.size() + " nodes]";
    }
}
