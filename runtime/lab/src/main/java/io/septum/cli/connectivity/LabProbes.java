package io.septum.cli.connectivity;

import io.septum.cli.connectivity.NetLab.HttpReply;
import io.septum.cli.connectivity.NetLab.Observation;
import io.septum.cli.connectivity.NetLab.Verdict;
import io.septum.support.probe.NetnsProbe;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The probes a lab sends from inside a node, whatever the node is made of: a TCP or UDP echo exchange (a token sent,
 * allowed when it comes back in time), an ICMP echo request (busybox ping) and an HTTP request (curl). Each takes
 * the command prefix that enters the source's network namespace ({@code ip netns exec ...}, {@code nsenter ...}).
 */
final class LabProbes {
    /** The one ICMP message the lab sends: an IPv4 echo request (type 8). */
    static final int ICMP_ECHO_REQUEST = 8;
    private static final Pattern SOCAT_ERROR = Pattern.compile("socat\\[\\d+\\] E (.*)");

    private LabProbes() {
    }

    /** Decides a probe whose token did not come back, from the tool's stderr and whether it exited in time. */
    interface NoEcho {
        Observation judge(String stderr, boolean exited, long millis);
    }

    private static final Pattern ANSWER = Pattern.compile("(?m)^Address:\\s*([0-9.]+)\\s*$");

    /**
     * A type-A lookup with busybox's nslookup after {@code enter}: the addresses of the answer, or an empty list with
     * what nslookup said instead (the server's REFUSED or NXDOMAIN, or no answer within the timeout).
     */
    static NetLab.Lookup lookup(List<String> enter, String name, String serverIp, Duration timeout) {
        long ms = boundedMillis(timeout);
        List<String> cmd = new ArrayList<>(List.of("timeout", seconds(ms)));
        cmd.addAll(enter);
        cmd.addAll(List.of("busybox", "nslookup", "-type=a", name, serverIp));
        Cmd.Result r = Cmd.run(ms + 2000, null, cmd);
        String out = r.out() + r.err();
        List<String> addresses = new ArrayList<>();
        Matcher m = ANSWER.matcher(out);
        while (m.find()) addresses.add(m.group(1));
        if (!addresses.isEmpty()) return new NetLab.Lookup(addresses, "");
        String why = out.contains("REFUSED") ? "REFUSED" : out.contains("NXDOMAIN") ? "NXDOMAIN"
                : r.exit() == 124 || out.contains("timed out") ? "no answer within " + ms + " ms"
                : out.strip().replace('\n', ' ');
        return new NetLab.Lookup(List.of(), why);
    }

    /** A probe's network timeout in milliseconds: at least 100, at most 30 s. */
    static long boundedMillis(Duration timeout) {
        return NetnsProbe.boundedMillis(timeout);
    }

    static String seconds(long millis) {
        return NetnsProbe.seconds(millis);
    }

    /** A token no listener could have made up, to recognise the probe's own echo. */
    static String token() {
        return "septum-probe-" + Long.toHexString(LabRuns.RANDOM.nextLong());
    }

    /** socat, after {@code enter}, that sends its stdin to {@code dstIp:port} over TCP or UDP and prints what comes back. */
    static List<String> socat(List<String> enter, String dstIp, int port, String proto, long millis) {
        String secs = seconds(millis);
        List<String> cmd = new ArrayList<>(enter);
        cmd.addAll(List.of("socat", "-t", secs, "-", proto.equals("TCP")
                ? "TCP4:" + dstIp + ":" + port + ",connect-timeout=" + secs : "UDP4:" + dstIp + ":" + port));
        return cmd;
    }

    /**
     * The verdict of a socat probe in a network namespace: refused on a reset or port unreachable, an error when it
     * could not send, denied when nothing came back.
     */
    static NoEcho socatVerdict(String target, long millis) {
        return (e, exited, took) -> {
            if (e.contains("Connection refused")) {
                return new Observation(Verdict.REFUSED, "connection refused by " + target + " (nothing listens there)", took);
            }
            if (e.contains("unreachable") || e.contains("Invalid argument") || e.contains("No such file")) {
                return new Observation(Verdict.ERROR, socatComplaint(e), took);
            }
            return new Observation(Verdict.DENIED, "no answer within " + millis + " ms", took);
        };
    }

    /**
     * Runs {@code cmd}, writes {@code token} to it and waits up to {@code millis + margin} (the margin covers process
     * start-up and namespace entry) for the token to come back: allowed when it does, else what {@code noEcho} makes of
     * it. {@code holdInput} keeps stdin open until the end, for tools that stop reading once their input ends.
     */
    static Observation echo(List<String> cmd, String tool, String token, long millis, long margin, boolean holdInput,
                            NoEcho noEcho) {
        long start = System.nanoTime();
        Process p;
        try {
            p = new ProcessBuilder(cmd).start();
        } catch (IOException e) {
            return new Observation(Verdict.ERROR, "cannot run " + tool + ": " + e.getMessage(), 0);
        }
        Cmd.Drain out = new Cmd.Drain(p.getInputStream());
        Cmd.Drain err = new Cmd.Drain(p.getErrorStream());
        out.start();
        err.start();
        OutputStream in = p.getOutputStream();
        try {
            in.write((token + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
            if (!holdInput) in.close();
        } catch (IOException ignored) {
            // the tool already failed; its stderr says why
        }
        try {
            long deadline = start + TimeUnit.MILLISECONDS.toNanos(millis + margin);
            boolean exited = false;
            while (System.nanoTime() < deadline) {
                if (out.text().contains(token)) return allowed(start);
                if (p.waitFor(5, TimeUnit.MILLISECONDS)) {
                    out.join(500);
                    err.join(500);
                    if (out.text().contains(token)) return allowed(start);
                    exited = true;
                    break;
                }
            }
            return noEcho.judge(err.text(), exited, elapsed(start));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Observation(Verdict.ERROR, "interrupted", elapsed(start));
        } finally {
            try {
                in.close();
            } catch (IOException ignored) {
                // gone already
            }
            if (p.isAlive()) Cmd.kill(p);
        }
    }

    private static Observation allowed(long start) {
        return new Observation(Verdict.ALLOWED, "echo after " + elapsed(start) + " ms", elapsed(start));
    }

    /**
     * One ICMP echo request with busybox's ping, run after {@code enter}: allowed when the reply comes back within
     * {@code timeout} (whole seconds, at least one), denied when none does. {@code type} is the probe's ICMP type;
     * only echo requests can be sent.
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
        return new Observation(Verdict.ERROR, "ping failed (exit " + r.exit() + "): " + socatComplaint(r.err() + r.out()),
                r.millis());
    }

    /**
     * One HTTP request with curl, run after {@code enter}, with request headers ({@code "Name: value"}). A dropped
     * request ends with curl's exit code 28 after {@code timeout}.
     */
    static HttpReply http(List<String> enter, String method, String url, List<String> headers, Duration timeout) {
        long ms = boundedMillis(timeout);
        List<String> cmd = new ArrayList<>(enter);
        cmd.addAll(List.of("curl", "-s", "-S", "--max-time", seconds(ms), "-o", "-", "-w", "\n%{http_code}"));
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

    static long elapsed(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    static String lastLine(String s) {
        return NetnsProbe.lastLine(s);
    }

    /** The last line of a tool's stderr, without socat's timestamp and pid when it is socat's. */
    static String socatComplaint(String s) {
        String l = lastLine(s);
        Matcher m = SOCAT_ERROR.matcher(l);
        return m.find() ? m.group(1) : l;
    }
}
