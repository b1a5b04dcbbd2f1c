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

    /** One TCP connect from inside {@code netnsPath} to {@code address:port}. */
    public static Outcome tcp(String netnsPath, String address, int port, Duration wait) {
        long millis = boundedMillis(wait);
        List<String> cmd = List.of("nsenter", "--net=" + netnsPath, "--", "timeout", seconds(millis), "bash", "-c",
                "exec 3<>/dev/tcp/" + address + "/" + port);
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
