package io.septum.support.probe;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One real attempt from inside a network namespace ({@code nsenter --net}), for {@code septum probe} and the web UI's
 * probe: a TCP connection (bash's {@code /dev/tcp}), an ICMP echo request (busybox {@code ping}) or an HTTP request
 * (curl). Needs root. The attempt is bounded by its wait and the process by a margin above it.
 */
public final class NetnsProbe {
    /**
     * What an attempt did: {@code connected}, {@code refused}, {@code replied} (ping), {@code answered} (HTTP),
     * {@code denied} (HTTP 403 from the L7 proxy), {@code timed-out} or {@code error}, and why.
     */
    public record Outcome(String result, String detail) {
        /** Whether the attempt got through: something answered (a connection, a reset from the destination, a reply). */
        public boolean passed() {
            return result.equals("connected") || result.equals("refused") || result.equals("replied")
                    || result.equals("answered");
        }
    }

    /** The body the L7 proxy answers a denied request with (403), as Cilium's. */
    private static final String ACCESS_DENIED = "Access denied";

    private NetnsProbe() {
    }

    /** The namespace's path: a named one (the netns source's) lives in /run/netns; other sources give a path. */
    public static String path(String netns) {
        return netns.startsWith("/") ? netns : "/run/netns/" + netns;
    }

    /** The wait in whole milliseconds, at least 100 ms and at most 30 s. */
    public static long boundedMillis(Duration wait) {
        return Math.max(100, Math.min(30_000, wait.toMillis()));
    }

    /** {@code timeout(1)}'s argument for {@code millis}. */
    public static String seconds(long millis) {
        return String.format(java.util.Locale.ROOT, "%.3f", millis / 1000.0);
    }

    /** Whether {@code s} is a dotted-quad IPv4 address as it is written canonically: 0-255, no leading zeros. */
    public static boolean isCanonicalIpv4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) return false;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) return false;
            if (p.length() > 1 && p.charAt(0) == '0') return false;
            if (Integer.parseInt(p) > 255) return false;
        }
        return true;
    }

    /**
     * One TCP connect from inside {@code netnsPath} to {@code address:port}; the address must be a canonical IPv4
     * address (bash would read {@code 010.0.0.1} as octal, and look up anything else as a host name).
     */
    public static Outcome tcp(String netnsPath, String address, int port, Duration wait) {
        if (!isCanonicalIpv4(address)) throw new IllegalArgumentException("not an IPv4 address: " + address);
        if (port < 1 || port > 65535) throw new IllegalArgumentException("port " + port + " is out of range 1-65535");
        long millis = boundedMillis(wait);
        // the address and port are bash's arguments, never part of its script
        List<String> cmd = List.of("nsenter", "--net=" + netnsPath, "--", "timeout", seconds(millis), "bash", "-c",
                "exec 3<>\"/dev/tcp/$1/$2\"", "septum-probe", address, Integer.toString(port));
        Run r = run(cmd, millis);
        if (r.rc() == 0) return new Outcome("connected", "");
        if (r.rc() == 124 || r.rc() < 0) return new Outcome("timed-out", "no answer within " + millis + " ms");
        if (r.text().contains("Connection refused")) return new Outcome("refused", "the destination reset it: nothing listens there");
        return new Outcome("error", lastLine(r.text()));
    }

    /** One ICMP echo request (busybox ping) from inside {@code netnsPath} to the canonical IPv4 {@code address}. */
    public static Outcome ping(String netnsPath, String address, Duration wait) {
        if (!isCanonicalIpv4(address)) throw new IllegalArgumentException("not an IPv4 address: " + address);
        long secs = Math.max(1, Math.min((wait.toMillis() + 999) / 1000, 30));
        Run r = run(List.of("nsenter", "--net=" + netnsPath, "--", "busybox", "ping", "-4", "-c", "1", "-W",
                Long.toString(secs), address), secs * 1000);
        if (r.rc() == 0) return new Outcome("replied", "");
        // busybox ping: exit 1 and nothing said when no reply came; a message when it could not send at all
        if (r.rc() == 1 && !r.text().contains("ping:")) return new Outcome("timed-out", "no echo reply within " + secs + " s");
        if (r.rc() < 0) return new Outcome("timed-out", "no echo reply within " + secs + " s");
        return new Outcome("error", lastLine(r.text()));
    }

    /**
     * One HTTP/1.1 request (curl) from inside {@code netnsPath} to {@code http://address:port/path}: {@code answered}
     * with the status, or {@code denied} when the L7 proxy answered 403 "Access denied".
     */
    public static Outcome http(String netnsPath, String method, String address, int port, String path, Duration wait) {
        if (!isCanonicalIpv4(address)) throw new IllegalArgumentException("not an IPv4 address: " + address);
        if (port < 1 || port > 65535) throw new IllegalArgumentException("port " + port + " is out of range 1-65535");
        if (method == null || !method.matches("[A-Z]{1,16}")) throw new IllegalArgumentException("bad HTTP method " + method);
        if (path == null || !path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c >= 0x7f)) {
            throw new IllegalArgumentException("the path must start with / and hold no spaces or control characters");
        }
        long millis = boundedMillis(wait);
        Run r = run(List.of("nsenter", "--net=" + netnsPath, "--", "curl", "-s", "-S", "--max-time", seconds(millis),
                "-X", method, "-o", "-", "-w", "\n%{http_code}", "--", "http://" + address + ":" + port + path), millis);
        if (r.rc() == 28 || r.rc() < 0) return new Outcome("timed-out", "no answer within " + millis + " ms");
        int nl = r.text().lastIndexOf('\n');
        String code = nl < 0 ? "" : r.text().substring(nl + 1).strip();
        if (r.rc() != 0 || !code.matches("\\d{3}") || code.equals("000")) return new Outcome("error", lastLine(r.text()));
        String body = r.text().substring(0, nl);
        if (code.equals("403") && body.contains(ACCESS_DENIED)) return new Outcome("denied", "HTTP 403 " + ACCESS_DENIED);
        return new Outcome("answered", "HTTP " + code);
    }

    /** A tool's exit code (-1 when it outlived its margin) and its output. */
    private record Run(int rc, String text) {
    }

    private static Run run(List<String> cmd, long millis) {
        try {
            Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String text;
            try (InputStream in = proc.getInputStream()) {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!proc.waitFor(millis + 5_000, TimeUnit.MILLISECONDS)) {
                proc.destroyForcibly();
                return new Run(-1, text);
            }
            return new Run(proc.exitValue(), text);
        } catch (IOException e) {
            return new Run(127, "cannot run " + cmd.get(0) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Run(130, "interrupted");
        }
    }

    /** The last non-blank line of a tool's output: its error, usually. */
    public static String lastLine(String text) {
        String[] lines = text.strip().split("\n");
        return lines.length == 0 ? "" : lines[lines.length - 1].strip();
    }
}
