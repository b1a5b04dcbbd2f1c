import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The flow benchmark's load: UDP datagrams to IP:PORT for SECONDS, from SOCKETS source ports in turn (each a
 * different 5-tuple), as fast as THREADS sender threads send them or at RATE datagrams a second in all. Run inside
 * the client namespace; the server's policy drops them, so that every datagram is one drop event of the datapath.
 *
 * <p>java FlowLoad.java IP PORT SECONDS [SOCKETS] [--threads N] [--rate R] [--wait-go]: the sockets are shared out
 * over the threads (each thread has its own); with --rate each thread sends its share in 1 ms steps; with --wait-go
 * it prints "ready", waits for a line on standard input, then sends. Prints "datagrams seconds".
 */
public class FlowLoad {
    public static void main(String[] args) throws Exception {
        InetSocketAddress to = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
        double seconds = Double.parseDouble(args[2]);
        int sockets = 64;
        int threads = 1;
        long rate = 0;
        boolean waitGo = false;
        for (int a = 3; a < args.length; a++) {
            switch (args[a]) {
                case "--threads" -> threads = Integer.parseInt(args[++a]);
                case "--rate" -> rate = Long.parseLong(args[++a]);
                case "--wait-go" -> waitGo = true;
                default -> sockets = Integer.parseInt(args[a]);
            }
        }
        if (threads < 1 || threads > 64 || sockets < threads || rate < 0) {
            throw new IllegalArgumentException("need 1-64 threads, at least one socket a thread, a rate >= 0");
        }
        DatagramChannel[][] socks = new DatagramChannel[threads][];
        for (int t = 0; t < threads; t++) {
            socks[t] = new DatagramChannel[sockets / threads + (t < sockets % threads ? 1 : 0)];
            for (int i = 0; i < socks[t].length; i++) {
                socks[t][i] = DatagramChannel.open();
                socks[t][i].configureBlocking(false);
                socks[t][i].connect(to);
            }
        }
        if (waitGo) {
            // the caller samples its counters between "ready" and "go", so that JVM start-up is not measured
            System.out.println("ready");
            System.out.flush();
            new java.io.BufferedReader(new java.io.InputStreamReader(System.in)).readLine();
        }
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        AtomicLong sent = new AtomicLong();
        CountDownLatch done = new CountDownLatch(threads);
        double perThreadPerNano = rate / 1e9 / threads;
        for (int t = 0; t < threads; t++) {
            DatagramChannel[] mine = socks[t];
            Thread th = new Thread(() -> {
                try {
                    sent.addAndGet(send(mine, start, end, perThreadPerNano));
                } finally {
                    done.countDown(); // a failed sender must not leave main waiting
                }
            }, "flowload-" + t);
            th.setDaemon(true);
            th.start();
        }
        done.await();
        System.out.println(sent.get() + " " + (System.nanoTime() - start) / 1e9);
    }

    /** Sends until {@code end}; with a rate (datagrams per nanosecond, 0 for none) no faster than it, in 1 ms steps. */
    static long send(DatagramChannel[] socks, long start, long end, double perNano) {
        ByteBuffer payload = ByteBuffer.allocate(16);
        long sent = 0;
        int i = 0;
        long now;
        while ((now = System.nanoTime()) < end) {
            if (perNano > 0 && sent >= (long) ((now - start) * perNano)) {
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                continue;
            }
            payload.rewind();
            try {
                if (socks[i].write(payload) > 0) sent++;
            } catch (java.io.IOException e) {
                // ECONNREFUSED from an earlier datagram, or a full queue: go on with the next socket
            }
            i = (i + 1) % socks.length;
        }
        return sent;
    }
}
