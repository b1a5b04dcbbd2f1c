import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;

/**
 * The flow benchmark's load: UDP datagrams to IP:PORT as fast as one thread sends them, for SECONDS, from SOCKETS
 * source ports in turn (each a different 5-tuple). Run inside the client namespace; the server's policy drops them,
 * so that every datagram is one drop event of the datapath. Prints the datagrams sent.
 *
 * <p>java FlowLoad.java IP PORT SECONDS [SOCKETS [--wait-go]]: with --wait-go it prints "ready", waits for a line on
 * standard input, then sends. Prints "datagrams seconds".
 */
public class FlowLoad {
    public static void main(String[] args) throws Exception {
        InetSocketAddress to = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
        long end = System.nanoTime() + (long) (Double.parseDouble(args[2]) * 1e9);
        int n = args.length > 3 ? Integer.parseInt(args[3]) : 64;
        DatagramChannel[] socks = new DatagramChannel[n];
        for (int i = 0; i < n; i++) {
            socks[i] = DatagramChannel.open();
            socks[i].configureBlocking(false);
            socks[i].connect(to);
        }
        ByteBuffer payload = ByteBuffer.allocate(16);
        if (args.length > 4 && args[4].equals("--wait-go")) {
            // the caller samples its counters between "ready" and "go", so that JVM start-up is not measured
            System.out.println("ready");
            System.out.flush();
            new java.io.BufferedReader(new java.io.InputStreamReader(System.in)).readLine();
            end = System.nanoTime() + (long) (Double.parseDouble(args[2]) * 1e9);
        }
        long start = System.nanoTime();
        long sent = 0;
        int i = 0;
        while (System.nanoTime() < end) {
            payload.rewind();
            try {
                if (socks[i].write(payload) > 0) sent++;
            } catch (java.io.IOException e) {
                // ECONNREFUSED from an earlier datagram, or a full queue: go on with the next socket
            }
            i = (i + 1) % n;
        }
        System.out.println(sent + " " + (System.nanoTime() - start) / 1e9);
    }
}
