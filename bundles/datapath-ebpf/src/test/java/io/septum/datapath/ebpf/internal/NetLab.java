package io.septum.datapath.ebpf.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Test network: a bridge in the root namespace and network namespaces attached to it by veth pairs, all named
 * {@code sept-t<random>...}, with addresses 10.199.x.n/16 and fd00:199:x::n/64 inside the namespaces only.
 * {@link #close()} removes everything it made, and kills what runs inside. Public, with the datapath-ebpf test jar,
 * for other bundles' real-packet tests (the L7 proxy's).
 */
public final class NetLab implements AutoCloseable {
    public final String id = String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
    final int subnet = 1 + ThreadLocalRandom.current().nextInt(250);
    final String bridge = "sept-t" + id + "b";
    final List<Ns> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    /** The datapath {@link #openDatapath} opened, closed (and its pins removed) by {@link #close()}. */
    private EbpfDatapath datapath;

    public record Ns(String name, String hostIf, int ifindex, String ip4, String ip6) {
    }

    public NetLab() throws IOException {
        sh("ip", "link", "add", bridge, "type", "bridge", "nf_call_iptables", "0", "nf_call_ip6tables", "0");
        sh("ip", "link", "set", bridge, "up");
    }

    public Ns add(int n) throws IOException {
        String ns = "sept-t" + id + "-" + n;
        String host = "sept-t" + id + "h" + n;
        String peer = "sept-t" + id + "n" + n;
        String ip4 = "10.199." + subnet + "." + n;
        String ip6 = "fd00:199:" + Integer.toHexString(subnet) + "::" + n;
        sh("ip", "netns", "add", ns);
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", peer);
        sh("ip", "link", "set", peer, "netns", ns);
        sh("ip", "-n", ns, "link", "set", peer, "name", "eth0");
        sh("ip", "-n", ns, "addr", "add", ip4 + "/16", "dev", "eth0");
        sh("ip", "-n", ns, "addr", "add", ip6 + "/64", "dev", "eth0", "nodad");
        sh("ip", "-n", ns, "link", "set", "lo", "up");
        sh("ip", "-n", ns, "link", "set", "eth0", "up");
        sh("ip", "link", "set", host, "master", bridge);
        sh("ip", "link", "set", host, "up");
        int ifindex = Integer.parseInt(Files.readString(Path.of("/sys/class/net/" + host + "/ifindex")).trim());
        Ns result = new Ns(ns, host, ifindex, ip4, ip6);
        namespaces.add(result);
        return result;
    }

    /**
     * A namespace on a plain veth pair, no bridge: the host side gets 10.198.x.1/24 and fd00:198:x::1/64, the
     * namespace 10.198.x.2 and fd00:198:x::2 (x: this lab's subnet). For the host firewall, whose interface is such a
     * host-side veth and whose own addresses are the host side's. One per lab.
     */
    public Ns addPeerOfHost() throws IOException {
        String ns = "sept-t" + id + "-u";
        String host = "sept-t" + id + "u";
        String hostIp4 = "10.198." + subnet + ".1", ip4 = "10.198." + subnet + ".2";
        String prefix6 = "fd00:198:" + Integer.toHexString(subnet) + "::";
        sh("ip", "netns", "add", ns);
        Ns result = new Ns(ns, host, 0, ip4, prefix6 + "2");
        namespaces.add(result); // removed by close() even if a step below fails
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", "sept-t" + id + "v");
        sh("ip", "link", "set", "sept-t" + id + "v", "netns", ns);
        sh("ip", "-n", ns, "link", "set", "sept-t" + id + "v", "name", "eth0");
        sh("ip", "addr", "add", hostIp4 + "/24", "dev", host);
        sh("ip", "addr", "add", hostSideLinkLocal() + "/24", "dev", host);
        sh("ip", "-n", ns, "addr", "add", "169.254." + subnet + ".2/24", "dev", "eth0");
        sh("ip", "addr", "add", prefix6 + "1/64", "dev", host, "nodad");
        sh("ip", "-n", ns, "addr", "add", ip4 + "/24", "dev", "eth0");
        sh("ip", "-n", ns, "addr", "add", prefix6 + "2/64", "dev", "eth0", "nodad");
        sh("ip", "-n", ns, "link", "set", "lo", "up");
        sh("ip", "-n", ns, "link", "set", "eth0", "up");
        sh("ip", "link", "set", host, "up");
        int ifindex = Integer.parseInt(Files.readString(Path.of("/sys/class/net/" + host + "/ifindex")).trim());
        namespaces.remove(result);
        result = new Ns(ns, host, ifindex, ip4, prefix6 + "2");
        namespaces.add(result);
        return result;
    }

    /** The host side's IPv4 link-local address of {@link #addPeerOfHost} (169.254.x.1; the namespace has .2). */
    public String hostSideLinkLocal() {
        return "169.254." + subnet + ".1";
    }

    /** The host side's IPv4 address of {@link #addPeerOfHost}. */
    public String hostSideIp4() {
        return "10.198." + subnet + ".1";
    }

    /** Runs {@code cmd} in the host's network namespace in the background until {@link #close()}. */
    public void startOnHost(String... cmd) throws IOException {
        processes.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start());
    }

    /** Whether a TCP connection from the host's network namespace to ip:port completes within about a second. */
    boolean connectsFromHost(String ip, int port) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("nc", ip.contains(":") ? "-6" : "-4", "-z", "-w", "1", ip,
                Integer.toString(port)).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return false;
        }
        return p.exitValue() == 0;
    }

    /**
     * Gives the bridge the address 10.199.x.254/24, so that host processes (cgroup endpoints) reach the namespaces
     * and are reached by them, and returns it.
     */
    public String hostIp() throws IOException {
        String ip = "10.199." + subnet + ".254";
        sh("ip", "addr", "add", ip + "/24", "dev", bridge);
        return ip;
    }

    /** A TCP echo server (IPv4 and IPv6) on {@code port} inside {@code ns}. */
    void listen(Ns ns, int port) throws IOException {
        start(ns, "socat", "TCP6-LISTEN:" + port + ",fork,reuseaddr,ipv6only=0", "EXEC:cat");
    }

    /** Runs {@code cmd} inside {@code ns} in the background, its output discarded, until {@link #close()}. */
    public void start(Ns ns, String... cmd) throws IOException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns.name()));
        all.addAll(List.of(cmd));
        processes.add(new ProcessBuilder(all).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start());
    }

    /** Whether a TCP connection from {@code from} to ip:port completes within about a second. */
    boolean connects(Ns from, String ip, int port) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ip", "netns", "exec", from.name(), "nc", ip.contains(":") ? "-6" : "-4",
                "-z", "-w", "1", ip, Integer.toString(port)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return false;
        }
        return p.exitValue() == 0;
    }

    /** Waits until something listens on the port (servers start asynchronously). */
    public void awaitListening(Ns ns, int port) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < end) {
            Process p = new ProcessBuilder("ip", "netns", "exec", ns.name(), "ss", "-Hltn", "sport = :" + port)
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(5, TimeUnit.SECONDS);
            if (!out.isBlank()) return;
            Thread.onSpinWait();
        }
        throw new IllegalStateException("nothing listens on port " + port + " in " + ns.name());
    }

    /** A long-lived TCP connection (socat stdio) whose echo can be checked line by line. */
    Conn open(Ns from, String ip, int port) throws IOException {
        Process p = new ProcessBuilder("ip", "netns", "exec", from.name(), "socat", "-",
                "TCP:" + (ip.contains(":") ? "[" + ip + "]" : ip) + ":" + port).redirectErrorStream(true).start();
        processes.add(p);
        return new Conn(p);
    }

    static final class Conn {
        private final Process p;
        private final OutputStream out;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

        Conn(Process p) {
            this.p = p;
            this.out = p.getOutputStream();
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    String l;
                    while ((l = r.readLine()) != null) lines.add(l);
                } catch (IOException ignored) {
                    // process ended
                }
            }, "conn-reader");
            t.setDaemon(true);
            t.start();
        }

        /** Sends a line and reports whether its echo came back within the timeout. */
        boolean echoes(String line, long timeoutMs) throws IOException, InterruptedException {
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            while (true) {
                long left = end - System.nanoTime();
                if (left <= 0) return false;
                String got = lines.poll(left, TimeUnit.NANOSECONDS);
                if (got == null) return false;
                if (got.equals(line)) return true;
            }
        }

        void close() {
            p.destroyForcibly();
        }
    }

    /** Runs an ICMP script: "echo" sends a request and waits for the reply; "reply" sends an unsolicited reply. */
    boolean icmp(Ns from, String mode, String dst) throws IOException, InterruptedException {
        String script = """
                import socket, struct, sys, time
                mode, dst = sys.argv[1], sys.argv[2]
                v6 = ':' in dst
                fam = socket.AF_INET6 if v6 else socket.AF_INET
                proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
                s = socket.socket(fam, socket.SOCK_RAW, proto)
                s.settimeout(1.0)
                def csum(b):
                    if len(b) % 2: b += b'\\0'
                    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
                    t = (t >> 16) + (t & 0xffff); t += t >> 16
                    return ~t & 0xffff
                req, rep = (128, 129) if v6 else (8, 0)
                t = req if mode == 'echo' else rep
                ident = int(sys.argv[3])
                body = struct.pack('!BBHHH', t, 0, 0, ident, 1) + b'septum-test'
                if not v6:
                    body = body[:2] + struct.pack('!H', csum(body)) + body[4:]
                s.sendto(body, (dst, 0))
                if mode != 'echo':
                    sys.exit(0)
                end = time.time() + 1.0
                while time.time() < end:
                    try:
                        data, addr = s.recvfrom(2048)
                    except socket.timeout:
                        break
                    icmp = data if v6 else data[(data[0] & 0xf) * 4:]
                    if icmp[0] == rep and struct.unpack('!H', icmp[4:6])[0] == ident:
                        sys.exit(0)
                sys.exit(1)
                """;
        // a fresh id for unsolicited replies, so that they cannot match an earlier request's conntrack entry
        int ident = mode.equals("echo") ? 0x5e97 : 1 + ThreadLocalRandom.current().nextInt(0xfff0);
        String python = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
        Process p = new ProcessBuilder("ip", "netns", "exec", from.name(), python, "-c", script, mode, dst,
                Integer.toString(ident))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return false;
        }
        if (p.exitValue() > 1) throw new IllegalStateException("icmp script failed: " + out);
        return p.exitValue() == 0;
    }

    /**
     * The bundled datapath, opened on pins of this lab's own ({@link #pinDir()}); {@link #close()} closes it and
     * removes the pins, also when the opening failed half-way.
     */
    EbpfDatapath openDatapath(java.util.function.Consumer<io.septum.api.datapath.DatapathEvent> events)
            throws io.septum.api.datapath.DatapathException, IOException {
        datapath = new EbpfDatapath(pinDir(), EbpfDatapath.bundledObject(), events);
        datapath.open();
        return datapath;
    }

    /** Where {@link #openDatapath} pins the maps. */
    Path pinDir() {
        return Path.of("/sys/fs/bpf/sept-t" + id);
    }

    @Override
    public void close() {
        if (datapath != null) {
            datapath.close();
            io.septum.testsupport.TestFiles.deleteTree(pinDir());
        }
        for (Process p : processes) p.destroyForcibly();
        for (Ns ns : namespaces) {
            try {
                String pids = run("ip", "netns", "pids", ns.name());
                for (String pid : pids.split("\\s+")) {
                    if (!pid.isBlank()) run("kill", "-9", pid.trim());
                }
            } catch (Exception ignored) {
                // best effort: the namespace may be gone already
            }
            quiet("ip", "link", "del", ns.hostIf());
            quiet("ip", "netns", "del", ns.name());
        }
        quiet("ip", "link", "del", bridge);
    }

    static void quiet(String... cmd) {
        try {
            run(cmd);
        } catch (Exception ignored) {
            // cleanup is best effort
        }
    }

    static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timeout: " + String.join(" ", cmd));
        }
        if (p.exitValue() != 0) throw new IOException(String.join(" ", cmd) + " failed: " + out.trim());
        return out;
    }

    static void sh(String... cmd) throws IOException {
        try {
            run(cmd);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
