package io.septum.cli.connectivity;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The listeners of one lab, which its probes talk to: on a TCP port an echo server that answers HTTP requests like
 * the seed's deathstar ({@code POST /v1/request-landing} gives {@code Ship landed}), on a UDP port a datagram echo.
 * Host listeners are socat processes run inside a node's network namespace; a Docker container's TCP listeners run
 * inside the container (busybox {@code nc}) and are only tracked here, without a process.
 */
final class EchoListeners {
    /** One listening port; {@code process} is null for one that runs inside a container. */
    record Listener(NetLab.Node node, NetLab.Port port, Process process, Path log) {
    }

    private final Path dir;
    private final List<Listener> listeners = new ArrayList<>();

    /** Listeners whose scripts and logs go to the lab directory {@code dir}. */
    EchoListeners(Path dir) {
        this.dir = dir;
    }

    /**
     * The responder a TCP listener runs per connection (dash-compatible): an HTTP answer when the first line is a
     * request, else a plain echo. {@code SEPTUM_LAB_NAME} names the node in the default answer.
     */
    static String handlerScript() {
        return String.join("\n",
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
    }

    synchronized boolean has(NetLab.Node node, NetLab.Port port) {
        return listeners.stream().anyMatch(l -> l.node().equals(node) && l.port().equals(port));
    }

    synchronized long count(NetLab.Node node) {
        return listeners.stream().filter(l -> l.node().equals(node)).count();
    }

    /** Tracks a listener that runs inside a container, started by the caller. */
    synchronized void addInContainer(NetLab.Node node, NetLab.Port port) {
        listeners.add(new Listener(node, port, null, null));
    }

    /**
     * Starts socat for {@code port} after {@code enter} (a command that enters {@code node}'s network namespace);
     * {@code where} says where, for the error.
     */
    synchronized void start(List<String> enter, NetLab.Node node, NetLab.Port port, String where) {
        boolean tcp = port.protocol().equals("TCP");
        String address = tcp ? "TCP4-LISTEN:" + port.port() + ",fork,reuseaddr" : "UDP4-RECVFROM:" + port.port() + ",fork";
        String target = tcp ? "EXEC:/bin/sh " + writeHandler() : "PIPE";
        Path log = dir.resolve("listener-" + node.index() + "-" + port.port() + "-" + port.protocol() + ".log");
        List<String> cmd = new ArrayList<>(enter);
        cmd.addAll(List.of("socat", "-T", "10", address, target));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        pb.environment().put("SEPTUM_LAB_NAME", node.name());
        try {
            listeners.add(new Listener(node, port, pb.start(), log));
        } catch (IOException e) {
            throw new LabException("cannot start socat " + where + ": " + e.getMessage()
                    + " (install socat: scripts/install-deps.sh)", e);
        }
    }

    /**
     * Starts dnsmasq after {@code enter} on {@code ip}:53 (UDP and TCP), answering each name of {@code records} with
     * its address (exact names only, TTL 300 s) and refusing to forward anything else: the DNS server of a case's
     * {@code dns: true} endpoint. Tracked as its 53/UDP listener.
     */
    synchronized void startDns(List<String> enter, NetLab.Node node, String ip, Map<String, String> records,
                               String where) {
        Path log = dir.resolve("dns-" + node.index() + ".log");
        List<String> cmd = new ArrayList<>(enter);
        cmd.addAll(List.of("dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
                "--listen-address=" + ip, "--port=53", "--user=root", "--local-ttl=300",
                "--pid-file=" + dir.resolve("dns-" + node.index() + ".pid"), "--log-facility=" + log, "--log-queries"));
        records.forEach((name, address) -> cmd.add("--host-record=" + name + "," + address));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        try {
            listeners.add(new Listener(node, new NetLab.Port(53, "UDP"), pb.start(), log));
        } catch (IOException e) {
            throw new LabException("cannot start dnsmasq " + where + ": " + e.getMessage()
                    + " (install dnsmasq-base: scripts/install-deps.sh)", e);
        }
    }

    private Path writeHandler() {
        Path handler = dir.resolve("http-echo.sh");
        if (Files.exists(handler)) return handler;
        try {
            Files.writeString(handler, handlerScript());
        } catch (IOException e) {
            throw new LabException("cannot write the listener script " + handler + ": " + e.getMessage(), e);
        }
        return handler;
    }

    /**
     * Waits until every listener is bound, or throws naming the ones that are not (with socat's complaint).
     * {@code beforeEachRound} throws once the lab is closed; {@code bound} lists a node's bound ports
     * ({@link #boundPorts}); {@code describe} names a node in the error ("in a (sept-…)").
     */
    void awaitBound(Duration timeout, long pollMillis, Runnable beforeEachRound,
                    Function<NetLab.Node, Set<String>> bound, Function<NetLab.Node, String> describe) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            beforeEachRound.run();
            List<Listener> all;
            synchronized (this) {
                all = List.copyOf(listeners);
            }
            Map<NetLab.Node, Set<String>> ports = new LinkedHashMap<>();
            List<Listener> pending = new ArrayList<>();
            for (Listener l : all) {
                if (l.process() != null && !l.process().isAlive()) {
                    throw new LabException("the " + l.port() + " listener " + describe.apply(l.node()) + " exited: "
                            + LabRuns.readQuietly(l.log()).strip());
                }
                if (!ports.computeIfAbsent(l.node(), bound).contains(l.port().toString())) pending.add(l);
            }
            if (pending.isEmpty()) return;
            if (System.nanoTime() > deadline) {
                throw new LabException("listeners not bound after " + timeout.toMillis() + " ms: " + pending.stream()
                        .map(l -> l.node().name() + ":" + l.port()).toList());
            }
            LabRuns.pause(pollMillis);
        }
    }

    /** The ports bound where {@code ss} (a command listing listening TCP and UDP sockets) looks: {@code 80/TCP}, {@code 53/UDP}. */
    static Set<String> boundPorts(long timeoutMillis, List<String> ss) {
        Cmd.Result r = Cmd.run(timeoutMillis, null, ss);
        Set<String> out = new HashSet<>();
        if (!r.ok()) return out;
        for (String line : r.out().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 5) continue;
            int colon = f[4].lastIndexOf(':');
            if (colon >= 0) out.add(f[4].substring(colon + 1) + "/" + f[0].toUpperCase(Locale.ROOT));
        }
        return out;
    }

    /** Stops {@code node}'s listeners (a node about to go). */
    synchronized void stop(NetLab.Node node) {
        for (Iterator<Listener> it = listeners.iterator(); it.hasNext(); ) {
            Listener l = it.next();
            if (l.node().equals(node)) {
                if (l.process() != null) Cmd.kill(l.process());
                it.remove();
            }
        }
    }

    synchronized void stopAll() {
        for (Listener l : listeners) if (l.process() != null) Cmd.kill(l.process());
        listeners.clear();
    }
}
