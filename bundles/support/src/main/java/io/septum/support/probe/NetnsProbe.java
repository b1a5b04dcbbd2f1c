package io.septum.support.probe;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One real TCP connection attempt from inside a network namespace ({@code nsenter --net}, then bash's
 * {@code /dev/tcp}), for {@code septum probe} and the web UI's probe. Needs root. The attempt is bounded by its wait
 * and the process by a margin above it.
 */
public final class NetnsProbe {
    /** What an attempt did: {@code connected}, {@code refused}, {@code timed-out} or {@code error}, and why. */
    public record Outcome(String result, String detail) {
        /** Whether the attempt got through: something answered (a connection, or a reset from the destination). */
        public boolean passed() {
            return result.equals("connected") || result.equals("refused");
        }
    }

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
        try {
            Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String text;
            try (InputStream in = proc.getInputStream()) {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!proc.waitFor(millis + 5_000, TimeUnit.MILLISECONDS)) {
                proc.destroyForcibly();
                return new Outcome("timed-out", "no answer within " + millis + " ms");
            }
            int rc = proc.exitValue();
            if (rc == 0) return new Outcome("connected", "");
            if (rc == 124) return new Outcome("timed-out", "no answer within " + millis + " ms");
            if (text.contains("Connection refused")) return new Outcome("refused", "the destination reset it: nothing listens there");
            return new Outcome("error", lastLine(text));
        } catch (IOException e) {
            return new Outcome("error", "cannot run nsenter: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome("error", "interrupted");
        }
    }

    /** The last non-blank line of a tool's output: its error, usually. */
    public static String lastLine(String text) {
        String[] lines = text.strip().split("\n");
        return lines.length == 0 ? "" : lines[lines.length - 1].strip();
    }
}
