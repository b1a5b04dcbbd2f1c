package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The policy routing that delivers packets handed to the L7 proxy locally although they are addressed to an
 * endpoint: {@code ip rule fwmark PROXY_REDIRECT_MARK lookup TABLE} and {@code local default dev lo} in that
 * table, for IPv4 and IPv6. Mark, table and preference are fixed, so every agent on the host (tests run several)
 * installs the same rule: adding is idempotent, and the rule is never removed, since another agent may rely on it
 * and it only matches packets that a Septum program marked.
 *
 * <p>It also switches TCP early demux off ({@code net.ipv4.tcp_early_demux=0}, in the agent's network namespace):
 * a client on another node reaches an endpoint routed, not bridged, and early demux would attach the proxy's
 * transparent socket for that connection to its packets on the way in, before forwarding, which then drops every
 * packet with a socket attached: the handshake never completes. Without early demux, a local connection's packet
 * costs one more route lookup.
 */
final class ProxyRouting {
    static final int TABLE = 0x5e97;
    static final int PREFERENCE = 9700;
    private static final Logger LOG = Logger.getLogger(ProxyRouting.class.getName());
    private volatile boolean done;

    void ensure() throws DatapathException {
        if (done) return;
        noEarlyDemux(java.nio.file.Path.of("/proc/sys/net/ipv4/tcp_early_demux"));
        String mark = "0x" + Integer.toHexString(EbpfDatapath.PROXY_REDIRECT_MARK);
        for (String family : List.of("-4", "-6")) {
            String any = family.equals("-4") ? "0.0.0.0/0" : "::/0";
            try {
                Result rules = run("ip", family, "rule", "show");
                if (rules.code() != 0 && family.equals("-6")) {
                    LOG.info("no IPv6 policy routing (" + rules.out().trim() + "): IPv6 connections to L7 ports fail closed");
                    continue;
                }
                if (!rules.out().toLowerCase(Locale.ROOT).contains("fwmark " + mark + " lookup " + TABLE)) {
                    Result add = run("ip", family, "rule", "add", "pref", String.valueOf(PREFERENCE), "fwmark", mark,
                            "lookup", String.valueOf(TABLE));
                    if (add.code() != 0 && !add.out().contains("File exists")) {
                        fail(family, "ip rule add", add);
                        continue;
                    }
                }
                Result route = run("ip", family, "route", "replace", "local", any, "dev", "lo", "table", String.valueOf(TABLE));
                if (route.code() != 0) fail(family, "ip route replace", route);
            } catch (IOException e) {
                throw new DatapathException("cannot run ip(8) to install the L7 proxy's routing: " + e.getMessage(), e);
            }
        }
        done = true;
    }

    /** Writes 0 into the early-demux switch when it is on; a kernel without the switch has nothing to switch off. */
    static void noEarlyDemux(java.nio.file.Path sysctl) {
        try {
            if (!java.nio.file.Files.exists(sysctl) || java.nio.file.Files.readString(sysctl).trim().equals("0")) return;
            java.nio.file.Files.writeString(sysctl, "0");
            LOG.info("set " + sysctl + " to 0: early demux would drop forwarded packets of L7 connections from other nodes");
        } catch (IOException e) {
            // same-node L7 does not need it: only connections from other nodes then fail (closed)
            LOG.warning("cannot switch TCP early demux off (" + sysctl + "): " + e.getMessage() + "; L7 connections from"
                    + " other nodes will fail closed");
        }
    }

    private static void fail(String family, String what, Result r) throws DatapathException {
        if (family.equals("-6")) {
            LOG.warning(what + " (IPv6) failed: " + r.out().trim() + "; IPv6 connections to L7 ports fail closed");
            return;
        }
        throw new DatapathException("installing the L7 proxy's routing failed: " + what + ": " + r.out().trim());
    }

    private record Result(int code, String out) {
    }

    private static Result run(String... cmd) throws IOException {
        Process p = new ProcessBuilder(new ArrayList<>(List.of(cmd))).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish within 10 s");
            }
            return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
