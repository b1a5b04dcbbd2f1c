package io.septum.itests.e2e;

import static io.septum.itests.e2e.E2eSupport.sh;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A few network namespaces on a bridge for tests that drive the agent with the plain CLI ({@code endpoint add})
 * rather than through {@code connectivity test}: {@code sept-t<rand>-<n>} namespaces, {@code st<rand><n>} host
 * veths on bridge {@code stb<rand>}, addresses {@code 10.199.<x>.<n>/32}, socat echo listeners. Independent of the
 * CLI's own lab on purpose: it checks the product from outside. {@link #close()} removes everything.
 */
final class E2eNet implements AutoCloseable {
    private static final Duration CMD = Duration.ofSeconds(10);
    final String id = E2eSupport.rand();
    final int subnet = 1 + Integer.parseInt(id, 16) % 250;
    final String bridge;
    private final String vethPrefix;
    private final String net;
    private final List<Node> nodes = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    /** {@link #httpEcho}'s per-connection script, removed on close. */
    private Path httpHandler;
    private boolean bridgeUp;

    record Node(String name, String netns, String veth, String ip) {
    }

    E2eNet() {
        this("st", "10.199.");
    }

    /**
     * A lab of another test's own: host veths {@code <vethPrefix><rand><n>} on bridge {@code <vethPrefix>b<rand>},
     * addresses {@code <net><x>.<n>} (e.g. {@code "10.197."}).
     */
    E2eNet(String vethPrefix, String net) {
        this.vethPrefix = vethPrefix;
        this.net = net;
        this.bridge = vethPrefix + "b" + id;
    }

    Node add(String name) {
        return add(name, null);
    }

    /** A node with address {@code ip}, or the next of the lab's addresses when it is null. */
    Node add(String name, String ip) {
        if (!bridgeUp) {
            check(sh(CMD, "ip", "link", "add", bridge, "type", "bridge"));
            bridgeUp = true;
            check(sh(CMD, "ip", "link", "set", bridge, "up"));
        }
        int n = nodes.size() + 1;
        Node node = new Node(name, "sept-t" + id + "-" + n, vethPrefix + id + n, ip != null ? ip : net + subnet + "." + n);
        nodes.add(node);
        check(sh(CMD, "ip", "netns", "add", node.netns()));
        check(sh(CMD, "ip", "link", "add", node.veth(), "type", "veth", "peer", "name", "eth0", "netns", node.netns()));
        check(sh(CMD, "ip", "link", "set", node.veth(), "master", bridge, "up"));
        check(sh(CMD, "ip", "-n", node.netns(), "addr", "add", node.ip() + "/32", "dev", "eth0"));
        check(sh(CMD, "ip", "-n", node.netns(), "link", "set", "eth0", "up"));
        check(sh(CMD, "ip", "-n", node.netns(), "link", "set", "lo", "up"));
        check(sh(CMD, "ip", "-n", node.netns(), "route", "add", "10.192.0.0/10", "dev", "eth0"));
        sh(CMD, "ip", "netns", "exec", node.netns(), "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1");
        return node;
    }

    /**
     * Gives the bridge 10.199.x.254/24, so that host processes (cgroup endpoints) and the nodes reach each other;
     * call after the first {@link #add}.
     */
    String hostIp() {
        String ip = "10.199." + subnet + ".254";
        check(sh(CMD, "ip", "addr", "add", ip + "/24", "dev", bridge));
        return ip;
    }

    Node node(String name) {
        return nodes.stream().filter(n -> n.name().equals(name)).findFirst().orElse(null);
    }

    /** A TCP echo server on {@code port} inside the node. */
    void echo(Node node, int port) {
        try {
            listen(node, String.valueOf(port), false);
        } catch (IOException e) {
            throw new AssertionError("cannot start socat: " + e.getMessage(), e);
        }
    }

    /**
     * A TCP echo server on {@code port} inside the node that also answers an HTTP request (200, "answered"), as a
     * web server would: what {@code septum probe PORT/HTTP} and the workbench's HTTP probe need. A line that is no
     * request line is echoed, as by {@link #echo}.
     */
    void httpEcho(Node node, int port) {
        try {
            if (httpHandler == null) {
                httpHandler = Files.createTempFile("septum-e2e-http-", ".sh");
                Files.writeString(httpHandler, String.join("\n",
                        "IFS= read -r l || exit 0",
                        "case \"$l\" in",
                        "  *' HTTP/1.'*)",
                        "    while IFS= read -r h; do case \"$h\" in ''|\"$(printf '\\r')\") break;; esac; done",
                        "    printf 'HTTP/1.0 200 OK\\r\\nContent-Length: 9\\r\\nConnection: close\\r\\n\\r\\nanswered\\n';;",
                        "  *) printf '%s\\n' \"$l\"; exec cat;;",
                        "esac", ""));
            }
            start(node, String.valueOf(port), false, "EXEC:/bin/sh " + httpHandler);
        } catch (IOException e) {
            throw new AssertionError("cannot start socat: " + e.getMessage(), e);
        }
    }

    /** A TCP or UDP echo server on {@code port} inside the node; an assertion error when it does not listen. */
    void listen(Node node, String port, boolean udp) throws IOException {
        start(node, port, udp, "PIPE");
    }

    private void start(Node node, String port, boolean udp, String target) throws IOException {
        String addr = (udp ? "UDP4-RECVFROM:" : "TCP4-LISTEN:") + port + ",fork,reuseaddr";
        processes.add(new ProcessBuilder("ip", "netns", "exec", node.netns(), "socat", addr, target)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
        boolean up = E2eSupport.await(Duration.ofSeconds(15), () ->
                sh(CMD, "ss", "-N", node.netns(), "-H", "-l", "-n", udp ? "-u" : "-t").out().contains(":" + port + " "));
        if (!up) throw new AssertionError("echo server on " + node.name() + ":" + port + (udp ? "/UDP" : "") + " did not start");
    }

    /** One TCP probe: true when the echo came back within {@code timeout}. */
    boolean tcp(Node from, Node to, int port, Duration timeout) {
        String secs = String.format(java.util.Locale.ROOT, "%.3f", timeout.toMillis() / 1000.0);
        return echoes(new ProcessBuilder("ip", "netns", "exec", from.netns(), "socat", "-t", secs, "-",
                "TCP4:" + to.ip() + ":" + port + ",connect-timeout=" + secs), "e2e-" + E2eSupport.rand(),
                timeout.plusMillis(2000), Process::destroyForcibly);
    }

    /**
     * Writes a token line to {@code client} (a socat that connects to an echo server) and says whether the token
     * came back; a client still running after {@code wait} is stopped with {@code stop} and counts as no echo.
     */
    static boolean echoes(ProcessBuilder client, String token, Duration wait, Consumer<Process> stop) {
        Process p;
        try {
            p = client.redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            return false;
        }
        try {
            try (var in = p.getOutputStream()) {
                in.write((token + "\n").getBytes());
            }
            if (!p.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                stop.accept(p);
                return false;
            }
            return new String(p.getInputStream().readAllBytes()).contains(token);
        } catch (IOException e) {
            stop.accept(p);
            return false;
        } catch (InterruptedException e) {
            // a probe given up on (its test timed out) must not leave its client running
            stop.accept(p);
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Kills {@code p} and its descendants, then waits for it at most {@code wait}. */
    static void kill(Process p, Duration wait) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            p.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Three network-namespace endpoints for a policy to hold apart: {@code P-server} (an echo on {@code port}),
     * {@code P-client} and {@code P-intruder}, registered with the labels {@code role=P-server} and so on.
     */
    record Trio(Node server, Node client, Node intruder, String prefix, int port) {
        static Trio registered(E2eSupport.Agent agent, E2eNet net, String prefix, int port) {
            Trio t = new Trio(net.add(prefix + "-server"), net.add(prefix + "-client"), net.add(prefix + "-intruder"),
                    prefix, port);
            net.echo(t.server, port);
            for (Node n : List.of(t.server, t.client, t.intruder)) addEndpoint(agent, n, "role=" + n.name());
            return t;
        }

        /** The policy that lets the client, and no one else, reach the server. */
        String policy(String name) {
            return E2eSupport.allowIngress(name, "role: " + prefix + "-server", "role: " + prefix + "-client");
        }

        /** Whether the client reaches the server within {@code allow} and the intruder does not within {@code deny}. */
        boolean enforced(E2eNet net, Duration allow, Duration deny) {
            return net.tcp(client, server, port, allow) && !net.tcp(intruder, server, port, deny);
        }
    }

    /** {@code endpoint add} of the node (its namespace, host veth and address) with these labels; it must succeed. */
    static void addEndpoint(E2eSupport.Agent agent, Node n, String... labels) {
        List<String> args = new ArrayList<>(List.of("endpoint", "add", "--name", n.name(), "--netns", n.netns(),
                "--interface", n.veth(), "--address", n.ip()));
        for (String l : labels) {
            args.add("--label");
            args.add(l);
        }
        E2eSupport.Run r = agent.cli(args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.toString());
    }

    /**
     * A long-lived TCP connection from {@code from} to an echo server: one line every {@code everyMillis} for
     * {@code count} lines, echoes written to {@code out}. The connection is opened once and kept.
     */
    Process stream(Node from, Node to, int port, int count, long everyMillis, Path out) throws IOException {
        String loop = "i=0; while [ $i -lt " + count + " ]; do i=$((i+1)); echo line-$i; sleep " + (everyMillis / 1000.0)
                + "; done";
        Process p = new ProcessBuilder("ip", "netns", "exec", from.netns(), "sh", "-c",
                "(" + loop + ") | socat -t 5 - TCP4:" + to.ip() + ":" + port + ",connect-timeout=2")
                .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        processes.add(p);
        return p;
    }

    private static void check(E2eSupport.Run r) {
        if (r.exit() != 0) throw new AssertionError("command failed: " + r);
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        List<Node> all = new ArrayList<>(nodes);
        Collections.reverse(all);
        for (Node n : all) {
            String pids = sh(CMD, "ip", "netns", "pids", n.netns()).out().trim();
            for (String pid : pids.split("\\s+")) {
                if (!pid.isBlank()) ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
            }
            sh(CMD, "ip", "netns", "del", n.netns());
        }
        for (Node n : all) {
            if (Files.exists(Path.of("/sys/class/net", n.veth()))) sh(CMD, "ip", "link", "del", n.veth());
        }
        if (bridgeUp) sh(CMD, "ip", "link", "del", bridge);
        if (httpHandler != null) {
            try {
                Files.deleteIfExists(httpHandler);
            } catch (IOException e) {
                // a temporary file: the system's tmp cleaning takes it
            }
        }
    }
}
