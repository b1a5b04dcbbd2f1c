import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The HTTP server of scripts/bench-l7.sh: it runs inside the server's network namespace
 * ({@code ip netns exec NS java scripts/bench/HttpServer.java ADDRESS PORT [THREADS]}, JDK 11+ source launcher) and
 * answers every request with {@code 200 OK} and a 3-byte body, keeping the connection open (HTTP/1.1 keep-alive,
 * pipelining). It exists because the ready-made servers close connections (busybox httpd forks per connection and
 * answers "Connection: close": 63 requests/s here; python3's http.server speaks HTTP/1.0): the benchmark would
 * measure the server, not the path.
 *
 * <p>Each of THREADS threads owns a selector and its own listening socket on the same port (SO_REUSEPORT), so the
 * kernel spreads connections over them and no lock is shared. Requests are recognised by their header end; a
 * {@code Content-Length} body is skipped; {@code Transfer-Encoding} is not supported (the proxy forwards bodies with
 * an exact length and wrk sends none). It prints "listening ADDRESS:PORT THREADS" once every listener is bound, and
 * on SIGTERM/exit the requests and connections it served (the script reports them).
 */
public final class HttpServer {
    private static final byte[] RESPONSE = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n")
            .getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_HEADER = 16384;

    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong connections = new AtomicLong();

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: HttpServer ADDRESS PORT [THREADS]");
            System.exit(2);
        }
        InetSocketAddress bind = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        HttpServer server = new HttpServer();
        Runtime.getRuntime().addShutdownHook(new Thread(() ->
                System.out.println("served " + server.requests.get() + " requests on " + server.connections.get() + " connections")));
        for (int i = 0; i < threads; i++) {
            ServerSocketChannel listener = ServerSocketChannel.open();
            listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            listener.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            listener.bind(bind, 1024);
            listener.configureBlocking(false);
            Thread t = new Thread(() -> server.loop(listener), "http-" + i);
            t.start();
        }
        System.out.println("listening " + bind.getHostString() + ":" + bind.getPort() + " " + threads);
        System.out.flush();
    }

    /** Per connection: the bytes of a request not complete yet, and how many body bytes still to skip. */
    private static final class Conn {
        final ByteBuffer in = ByteBuffer.allocate(MAX_HEADER);
        ByteBuffer out;
        long skip;
        boolean close;
    }

    private void loop(ServerSocketChannel listener) {
        try (Selector selector = Selector.open()) {
            listener.register(selector, SelectionKey.OP_ACCEPT);
            while (true) {
                selector.select();
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey key = it.next();
                    it.remove();
                    try {
                        if (key.isAcceptable()) {
                            SocketChannel ch;
                            while ((ch = listener.accept()) != null) {
                                ch.configureBlocking(false);
                                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                                ch.register(selector, SelectionKey.OP_READ, new Conn());
                                connections.incrementAndGet();
                            }
                        } else {
                            handle(key);
                        }
                    } catch (IOException e) {
                        key.cancel();
                        key.channel().close();
                    }
                }
            }
        } catch (IOException e) {
            System.err.println("server loop failed: " + e);
            System.exit(1);
        }
    }

    private void handle(SelectionKey key) throws IOException {
        SocketChannel ch = (SocketChannel) key.channel();
        Conn c = (Conn) key.attachment();
        if (key.isWritable() && !flush(ch, c, key)) return;
        if (!key.isReadable()) return;
        int n = ch.read(c.in);
        if (n < 0) {
            key.cancel();
            ch.close();
            return;
        }
        c.in.flip();
        int answers = 0;
        while (true) {
            if (c.skip > 0) {
                int k = (int) Math.min(c.skip, c.in.remaining());
                c.in.position(c.in.position() + k);
                c.skip -= k;
                if (c.skip > 0) break;
            }
            int end = headerEnd(c.in);
            if (end < 0) break;
            long length = contentLength(c.in, c.in.position(), end);
            c.close |= hasConnectionClose(c.in, c.in.position(), end);
            c.in.position(end);
            c.skip = length;
            answers++;
            if (c.close) break;
        }
        c.in.compact();
        if (c.in.position() == c.in.capacity()) { // a header larger than the buffer: not a request we serve
            key.cancel();
            ch.close();
            return;
        }
        if (answers > 0) {
            requests.addAndGet(answers);
            ByteBuffer out = ByteBuffer.allocate(RESPONSE.length * answers);
            for (int i = 0; i < answers; i++) out.put(RESPONSE);
            out.flip();
            c.out = c.out == null ? out : concat(c.out, out);
            flush(ch, c, key);
        }
    }

    /** Writes what is pending; false while the socket cannot take it all (then waits for OP_WRITE). */
    private static boolean flush(SocketChannel ch, Conn c, SelectionKey key) throws IOException {
        if (c.out != null) {
            ch.write(c.out);
            if (c.out.hasRemaining()) {
                key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
                return false;
            }
            c.out = null;
        }
        if (c.close) {
            key.cancel();
            ch.close();
            return false;
        }
        key.interestOps(SelectionKey.OP_READ);
        return true;
    }

    private static ByteBuffer concat(ByteBuffer a, ByteBuffer b) {
        ByteBuffer r = ByteBuffer.allocate(a.remaining() + b.remaining());
        r.put(a).put(b).flip();
        return r;
    }

    /** The position just after the first CRLFCRLF from the buffer's position, or -1. */
    private static int headerEnd(ByteBuffer b) {
        for (int i = b.position(); i + 3 < b.limit(); i++) {
            if (b.get(i) == '\r' && b.get(i + 1) == '\n' && b.get(i + 2) == '\r' && b.get(i + 3) == '\n') return i + 4;
        }
        return -1;
    }

    private static long contentLength(ByteBuffer b, int from, int to) {
        int at = find(b, from, to, "\ncontent-length:");
        if (at < 0) return 0;
        long v = 0;
        for (int i = at; i < to; i++) {
            byte x = b.get(i);
            if (x == ' ' || x == '\t') continue;
            if (x < '0' || x > '9') break;
            v = v * 10 + (x - '0');
        }
        return v;
    }

    private static boolean hasConnectionClose(ByteBuffer b, int from, int to) {
        int at = find(b, from, to, "\nconnection:");
        return at >= 0 && find(b, at, Math.min(to, at + 40), "close") >= 0;
    }

    /** Case-insensitive search of an ASCII needle in [from, to): the position after it, or -1. */
    private static int find(ByteBuffer b, int from, int to, String needle) {
        int n = needle.length();
        outer:
        for (int i = from; i + n <= to; i++) {
            for (int j = 0; j < n; j++) {
                int x = b.get(i + j);
                if (x >= 'A' && x <= 'Z') x += 32;
                if (x != needle.charAt(j)) continue outer;
            }
            return i + n;
        }
        return -1;
    }
}
