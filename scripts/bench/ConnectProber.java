import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The prober of scripts/reliability.sh: inside the client's network namespace
 * ({@code ip netns exec NS java -cp CLASSES ConnectProber OUT IP STOPFILE MAX_SECONDS PERIOD_MS PORT:TIMEOUT_MS...}),
 * it starts one TCP connect to each port every PERIOD_MS, whether the previous ones have ended or not (a denied
 * port's connects wait out their timeout side by side), and writes one line per connect to OUT:
 * {@code EPOCH_SECONDS.MICROS PORT RC}, RC 0 connected, 124 no answer within the timeout, 1 refused or
 * unreachable (bash's /dev/tcp and timeout(1) say the same). It stops when STOPFILE exists or MAX_SECONDS have
 * passed, after the connects under way have ended.
 */
public final class ConnectProber {
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        String ip = args[1];
        Path stop = Path.of(args[2]);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[3]));
        long period = Long.parseLong(args[4]);
        List<int[]> ports = new ArrayList<>();
        for (int i = 5; i < args.length; i++) {
            String[] p = args[i].split(":");
            ports.add(new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])});
        }
        ExecutorService connects = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "connect");
            t.setDaemon(true);
            return t;
        });
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out, StandardCharsets.US_ASCII,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND))) {
            timer.scheduleAtFixedRate(() -> {
                for (int[] p : ports) connects.execute(() -> {
                    long micros = System.currentTimeMillis() * 1000;
                    int rc = connect(new InetSocketAddress(ip, p[0]), p[1]);
                    synchronized (w) {
                        w.printf("%d.%06d %d %d%n", micros / 1_000_000, micros % 1_000_000, p[0], rc);
                    }
                });
            }, 0, period, TimeUnit.MILLISECONDS);
            while (System.nanoTime() < end && !Files.exists(stop)) Thread.sleep(50);
            timer.shutdownNow();
            connects.shutdown();
            connects.awaitTermination(10, TimeUnit.SECONDS);
            synchronized (w) {
                w.flush();
            }
        }
    }

    private static int connect(InetSocketAddress target, int timeoutMs) {
        try (Socket s = new Socket()) {
            s.connect(target, timeoutMs);
            return 0;
        } catch (SocketTimeoutException e) {
            return 124;
        } catch (IOException e) {
            return 1;
        }
    }
}
