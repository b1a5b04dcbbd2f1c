package io.septum.apiserver.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.ComponentStatus;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowSubscription;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The HTTP/1.1 server on the unix socket: one accept thread, one thread per connection from a bounded pool,
 * one request per connection. A watchdog closes connections whose request is not read, or whose answer is not
 * taken, within the deadline, so a stuck or hostile client holds a thread for a bounded time only.
 *
 * <p>No TCP listener exists: access control is the socket file's mode (0660) and group.
 */
public final class ApiServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ApiServer.class.getName());
    private static final byte[] HEARTBEAT = "\n".getBytes(StandardCharsets.US_ASCII);

    /**
     * @param maxConnections connections served at once; more get 503
     * @param ioTimeoutMillis deadline to read a request, and to write each piece of an answer
     * @param group          group to give the socket file, or null to keep the process's
     * @param heartbeatMillis how often an idle monitor stream sends an empty line (to notice clients that left)
     */
    public record Settings(int maxConnections, long ioTimeoutMillis, String group, long heartbeatMillis) {
        public static Settings defaults() {
            return new Settings(16, 10_000, null, 5_000);
        }
    }

    private final Path socket;
    private final ApiRoutes routes;
    private final MonitorHub hub;
    private final Settings settings;
    private final HttpRequestReader reader = HttpRequestReader.defaults();
    private final ObjectMapper mapper;
    private final ThreadPoolExecutor workers;
    private final ScheduledExecutorService watchdog;
    private final Map<SocketChannel, AtomicLong> deadlines = new ConcurrentHashMap<>();
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
    private final CompletableFuture<Path> bound = new CompletableFuture<>();
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private volatile ServerSocketChannel server;
    private volatile boolean closed;
    private Thread acceptor;

    public ApiServer(Path socket, ApiRoutes routes, MonitorHub hub, Settings settings) {
        this.socket = socket;
        this.routes = routes;
        this.hub = hub;
        this.settings = settings;
        this.mapper = routes.mapper();
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(1, settings.maxConnections(), 30, TimeUnit.SECONDS,
                new SynchronousQueue<>(), r -> daemon(r, "septum-api-" + n.incrementAndGet()));
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "septum-api-watchdog"));
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Binds and starts accepting on a thread of its own; the future completes once the socket is bound. */
    public CompletableFuture<Path> start() {
        watchdog.scheduleWithFixedDelay(this::expire, 200, 200, TimeUnit.MILLISECONDS);
        acceptor = daemon(this::run, "septum-api-accept");
        acceptor.start();
        return bound;
    }

    public Path socket() {
        return socket;
    }

    /** This server's line in {@code septum status}. */
    public ComponentStatus health() {
        if (!bound.isDone()) return new ComponentStatus("api-server", "degraded", "binding " + socket);
        if (bound.isCompletedExceptionally()) {
            return ComponentStatus.failed("api-server", bound.handle((p, e) -> e.getMessage()).join());
        }
        return ComponentStatus.ok("api-server", "listening on " + socket + ", " + hub.subscribers()
                + " monitor client(s), " + hub.dropped() + " event(s) dropped for slow clients");
    }

    private void run() {
        try {
            server = bind();
            bound.complete(socket);
            LOG.log(System.Logger.Level.INFO, "REST API listening on " + socket);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "cannot serve the REST API on " + socket + ": " + e.getMessage(), e);
            bound.completeExceptionally(new IOException("cannot listen on " + socket + ": " + e.getMessage(), e));
            return;
        }
        while (!closed) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (ClosedChannelException e) {
                break;
            } catch (IOException e) {
                if (closed) break;
                LOG.log(System.Logger.Level.WARNING, "accept on " + socket + " failed: " + e.getMessage());
                continue;
            }
            open.add(ch);
            try {
                workers.execute(() -> serve(ch));
            } catch (RejectedExecutionException e) {
                refused.incrementAndGet();
                // answering from the accept thread is safe: a small answer fits the socket buffer
                try {
                    arm(ch);
                    HttpResponse r = routes.error(503, "the agent is serving " + settings.maxConnections()
                            + " connections already; retry", List.of());
                    OutputStream out = Channels.newOutputStream(ch);
                    r.write(out);
                } catch (IOException x) {
                    // the client left
                } finally {
                    disarm(ch);
                    finish(ch);
                }
            }
        }
    }

    private ServerSocketChannel bind() throws IOException {
        Path dir = socket.toAbsolutePath().getParent();
        if (dir != null) Files.createDirectories(dir);
        if (Files.exists(socket)) {
            // A socket someone still answers on belongs to a running agent: never steal it.
            try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                probe.connect(UnixDomainSocketAddress.of(socket));
                throw new IOException("another process is listening on " + socket
                        + " (is another 'septum agent' running?)");
            } catch (IOException stale) {
                if (stale.getMessage() != null && stale.getMessage().startsWith("another process")) throw stale;
                Files.deleteIfExists(socket);
            }
        }
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.bind(UnixDomainSocketAddress.of(socket), 64);
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
            if (settings.group() != null && !settings.group().isBlank()) {
                GroupPrincipal g = socket.getFileSystem().getUserPrincipalLookupService()
                        .lookupPrincipalByGroupName(settings.group());
                Files.getFileAttributeView(socket, PosixFileAttributeView.class).setGroup(g);
            }
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private void serve(SocketChannel ch) {
        try {
            InputStream in = new BufferedInputStream(Channels.newInputStream(ch));
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch));
            arm(ch);
            HttpRequest req;
            try {
                req = reader.read(in);
            } catch (HttpException e) {
                routes.error(e.status(), e.getMessage(), e.errors()).write(out);
                return;
            }
            if (req == null) return;
            disarm(ch);
            served.incrementAndGet();
            if (req.method().equals("GET") && req.rawPath().equals("/v1/monitor")) {
                monitor(ch, out);
                return;
            }
            if (req.method().equals("GET") && req.rawPath().equals("/v1/flows") && ApiRoutes.follow(req)) {
                followFlows(ch, out, req);
                return;
            }
            HttpResponse r = routes.handle(req);
            arm(ch);
            r.write(out);
        } catch (IOException e) {
            // the client left or the watchdog closed a stuck connection: nothing to answer
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "API connection failed", e);
        } finally {
            disarm(ch);
            finish(ch);
        }
    }

    /**
     * Closes after the answer without resetting it: a request the server did not read (refused early, or its
     * body too large) would otherwise make the kernel reset the connection, and the client would lose the answer.
     */
    private void finish(SocketChannel ch) {
        try {
            if (ch.isOpen()) {
                ch.shutdownOutput();
                ch.configureBlocking(false);
                ByteBuffer sink = ByteBuffer.allocate(8192);
                int total = 0;
                int n;
                while (total < (1 << 20) && (n = ch.read(sink)) > 0) {
                    total += n;
                    sink.clear();
                }
            }
        } catch (IOException | RuntimeException e) {
            // the client is gone already
        } finally {
            closeQuietly(ch);
            open.remove(ch);
        }
    }

    /** Streams one JSON event per line until the client leaves or the server closes. */
    private void monitor(SocketChannel ch, OutputStream out) throws IOException {
        MonitorHub.Subscriber sub;
        try {
            sub = hub.subscribe();
        } catch (HttpException e) {
            arm(ch);
            routes.error(e.status(), e.getMessage(), List.of()).write(out);
            return;
        }
        try (sub) {
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("Content-Type", "application/x-ndjson");
            headers.put("Cache-Control", "no-cache");
            arm(ch);
            HttpResponse.writeHead(out, 200, headers, -1);
            out.flush();
            disarm(ch);
            while (!closed) {
                Object e;
                try {
                    e = sub.poll(settings.heartbeatMillis(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                    return;
                }
                arm(ch);
                if (e == null) {
                    out.write(HEARTBEAT);
                } else {
                    out.write(mapper.writeValueAsBytes(e));
                    out.write('\n');
                }
                out.flush();
                disarm(ch);
            }
        }
    }

    /** Streams one flow JSON per line: the last {@code last} matching ones first, then new ones as they come. */
    private void followFlows(SocketChannel ch, OutputStream out, HttpRequest req) throws IOException {
        FlowSubscription sub;
        List<Flow> backlog;
        try {
            FlowFilter filter = ApiRoutes.flowFilter(req.query());
            String l = req.query().getOrDefault("last", List.of("0")).get(0);
            int last = l.isEmpty() ? 0 : Integer.parseInt(l);
            FlowObserver observer = routes.backend().flowObserver();
            // subscribe before reading the backlog: a flow between the two is shown twice rather than lost
            sub = observer.follow(filter);
            backlog = last > 0 ? observer.query(filter, last) : List.of();
        } catch (HttpException e) {
            arm(ch);
            routes.error(e.status(), e.getMessage(), List.of()).write(out);
            return;
        } catch (IllegalArgumentException e) {
            arm(ch);
            routes.error(400, e.getMessage(), List.of()).write(out);
            return;
        }
        try (sub) {
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("Content-Type", "application/x-ndjson");
            headers.put("Cache-Control", "no-cache");
            arm(ch);
            HttpResponse.writeHead(out, 200, headers, -1);
            long newest = Long.MIN_VALUE;
            for (Flow f : backlog) {
                out.write(mapper.writeValueAsBytes(f));
                out.write('\n');
                newest = Math.max(newest, f.timeNanos());
            }
            out.flush();
            disarm(ch);
            while (!closed) {
                Flow f;
                try {
                    f = sub.poll(settings.heartbeatMillis(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                    return;
                }
                arm(ch);
                if (f == null) {
                    out.write(HEARTBEAT);
                } else if (f.timeNanos() > newest || backlog.isEmpty() || !backlog.contains(f)) {
                    out.write(mapper.writeValueAsBytes(f));
                    out.write('\n');
                }
                out.flush();
                disarm(ch);
            }
        }
    }

    private void arm(SocketChannel ch) {
        deadlines.computeIfAbsent(ch, c -> new AtomicLong()).set(System.nanoTime()
                + TimeUnit.MILLISECONDS.toNanos(settings.ioTimeoutMillis()));
    }

    private void disarm(SocketChannel ch) {
        deadlines.remove(ch);
    }

    private void expire() {
        long now = System.nanoTime();
        deadlines.forEach((ch, deadline) -> {
            if (now - deadline.get() > 0) {
                deadlines.remove(ch);
                closeQuietly(ch);
            }
        });
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing is best effort
        }
    }

    public long served() {
        return served.get();
    }

    public long refused() {
        return refused.get();
    }

    /** Stops accepting, closes every connection (monitor streams end) and removes the socket file. */
    @Override
    public void close() {
        closed = true;
        ServerSocketChannel s = server;
        if (s != null) closeQuietly(s);
        open.forEach(ApiServer::closeQuietly);
        workers.shutdownNow();
        watchdog.shutdownNow();
        if (acceptor != null) {
            try {
                acceptor.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (s != null) {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot remove " + socket + ": " + e.getMessage());
            }
        }
    }
}
