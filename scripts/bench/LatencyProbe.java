import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * The connect probe of scripts/bench-datapath.sh: it runs inside the client's network namespace
 * ({@code ip netns exec NS java scripts/bench/LatencyProbe.java HOST PORT [CONNECT_TIMEOUT_MS]}, JDK 11+ source
 * launcher) and is driven over stdin/stdout by a bash coproc, so that one measurement costs a TCP connect attempt
 * (a few ms), not a process spawn.
 *
 * <p>A policy drop shows as a connect that times out (the SYN vanishes); an allow as a connect that completes.
 * Times are wall-clock (CLOCK_REALTIME) nanoseconds since the epoch, comparable with bash's $EPOCHREALTIME.
 *
 * <pre>
 * open TIMEOUT_MS            connect until one succeeds: "open NANOS ATTEMPTS" (NANOS = when it completed)
 *                            or "timeout ATTEMPTS"
 * closed TIMEOUT_MS K PACE   connect until K attempts in a row fail: "closed NANOS ATTEMPTS" (NANOS = start of
 *                            the first of those K) or "timeout ATTEMPTS"; waits PACE ms after each connect that
 *                            succeeds, because each one costs the server a fork (socat) and would load the machine
 * quit                       exit
 * </pre>
 * A refused connect (RST: nothing listens) is a lab problem, not a verdict: it answers "refused ATTEMPTS".
 * Every reply is one line. On start it prints "ready CONNECT_TIMEOUT_MS".
 */
public final class LatencyProbe {
    private final InetSocketAddress target;
    private final int connectTimeoutMs;

    private LatencyProbe(InetSocketAddress target, int connectTimeoutMs) {
        this.target = target;
        this.connectTimeoutMs = connectTimeoutMs;
    }

    private enum Result { OK, TIMEOUT, REFUSED }

    private static long nowNanos() {
        Instant t = Instant.now();
        return t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    private Result attempt() {
        try (Socket s = new Socket()) {
            // RST on close: no TIME_WAIT pile-up from thousands of short connections
            s.setSoLinger(true, 0);
            s.connect(target, connectTimeoutMs);
            return Result.OK;
        } catch (SocketTimeoutException e) {
            return Result.TIMEOUT;
        } catch (ConnectException e) {
            String m = String.valueOf(e.getMessage());
            // Java reports a timed-out connect as "Connect timed out" on some paths
            return m.contains("timed out") ? Result.TIMEOUT : Result.REFUSED;
        } catch (IOException e) {
            return Result.TIMEOUT;
        }
    }

    private String open(long timeoutMs) {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        long attempts = 0;
        while (System.nanoTime() < deadline) {
            attempts++;
            Result r = attempt();
            if (r == Result.OK) return "open " + nowNanos() + " " + attempts;
            if (r == Result.REFUSED) {
                // a refused connect returns at once: do not spin the CPU
                pause(1);
                if (attempts > 1000) return "refused " + attempts;
            }
        }
        return "timeout " + attempts;
    }

    private String closed(long timeoutMs, int k, long paceMs) {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        long attempts = 0;
        int run = 0;
        long runStart = 0;
        while (System.nanoTime() < deadline) {
            attempts++;
            long start = nowNanos();
            Result r = attempt();
            if (r == Result.TIMEOUT) {
                if (run == 0) runStart = start;
                if (++run >= k) return "closed " + runStart + " " + attempts;
            } else {
                run = 0;
                if (r == Result.REFUSED) return "refused " + attempts;
                pause(paceMs);
            }
        }
        return "timeout " + attempts;
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: LatencyProbe HOST PORT [CONNECT_TIMEOUT_MS]");
            System.exit(2);
        }
        int timeout = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        LatencyProbe probe = new LatencyProbe(new InetSocketAddress(args[0], Integer.parseInt(args[1])), timeout);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        // warm the connect path (class loading, JIT) before the first measurement
        for (int i = 0; i < 200; i++) probe.attempt();
        out.println("ready " + timeout);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.trim().split("\\s+");
            try {
                if (f[0].equals("open")) {
                    out.println(probe.open(Long.parseLong(f[1])));
                } else if (f[0].equals("closed")) {
                    out.println(probe.closed(Long.parseLong(f[1]), Integer.parseInt(f[2]),
                            f.length > 3 ? Long.parseLong(f[3]) : 10));
                } else if (f[0].equals("quit")) {
                    return;
                } else {
                    out.println("error unknown command: " + line);
                }
            } catch (RuntimeException e) {
                out.println("error " + e);
            }
        }
    }
}
