package io.septum.apiserver.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.WriteTimeoutHandler;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import io.septum.api.ComponentStatus;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowRelay;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The REST API's HTTP/1.1 server on the unix socket, on Netty (the agent's one HTTP stack): an
 * {@link EpollServerDomainSocketChannel}, a strict request decoder ({@link RequestGuard}), an aggregator bounded by
 * the body limit, and {@link ApiRoutes} run on a bounded pool (routes call services that may block). One request
 * per connection ({@code Connection: close}); {@code /v1/monitor} and {@code /v1/flows?follow=true} are chunked
 * streams of JSON lines.
 *
 * <p>Limits: at most {@code maxConnections} connections at once (more are answered 503); the whole request must
 * arrive within {@code ioTimeoutMillis} of the connection (a client that trickles bytes is cut off as surely as an
 * idle one), and each piece of an answer must be taken within it. No TCP listener exists: access control is the
 * socket file's mode (0660) and group.
 */
public final class ApiServer extends NettyServer<Path> implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ApiServer.class.getName());
    /** What a refused or answered client may still send before the connection closes anyway. */
    private static final int DRAIN_BYTES = 1 << 20;
    /** Fired through the pipeline once a request is complete or refused: its read deadline no longer applies. */
    static final Object REQUEST_DONE = new Object();
    /** Set while a connection counts against {@code maxConnections}. */
    private static final AttributeKey<AtomicBoolean> SLOT = AttributeKey.valueOf("septum-api-slot");

    /**
     * @param maxConnections connections served at once; more get 503
     * @param ioTimeoutMillis deadline to read a request, and to write each piece of an answer
     * @param group          group to give the socket file, or null to keep the process's
     * @param heartbeatMillis how often an idle monitor stream sends an empty line (to notice clients that left)
     */
    /** @param adminGroup the group whose members may change the agent besides root ({@link WriteAccess}) */
    public record Settings(int maxConnections, long ioTimeoutMillis, String group, long heartbeatMillis,
                           String adminGroup) {
        public Settings(int maxConnections, long ioTimeoutMillis, String group, long heartbeatMillis) {
            this(maxConnections, ioTimeoutMillis, group, heartbeatMillis, WriteAccess.DEFAULT_ADMIN_GROUP);
        }

        public static Settings defaults() {
            return new Settings(16, 10_000, null, 5_000);
        }
    }

    private final Path socket;
    /** Where the socket is bound before its mode and group are set and it is renamed to {@link #socket}. */
    private final Path binding;
    private final ApiRoutes routes;
    private final MonitorHub hub;
    private final Settings settings;
    private final RequestGuard.Limits limits = RequestGuard.Limits.defaults();
    private final WriteAccess access;
    private final ObjectMapper mapper;
    private final AtomicLong refused = new AtomicLong();

    public ApiServer(Path socket, ApiRoutes routes, MonitorHub hub, Settings settings) {
        super(settings.maxConnections(), "septum-api", "septum-api");
        this.socket = socket;
        this.binding = socket.resolveSibling("." + socket.getFileName() + ".binding");
        this.routes = routes;
        this.hub = hub;
        this.settings = settings;
        this.access = new WriteAccess(settings.adminGroup());
        this.mapper = routes.mapper();
    }

    /** Binds and serves; the future completes once the socket is bound. Never blocks the caller. */
    public CompletableFuture<Path> start() {
        return startOn("septum-api-bind");
    }

    public Path socket() {
        return socket;
    }

    /** This server's line in {@code septum status}. */
    public ComponentStatus health() {
        return health("api-server", socket, () -> "listening on " + socket + ", " + hub.subscribers()
                + " monitor client(s), " + hub.dropped() + " event(s) dropped for slow clients");
    }

    @Override
    void bind() {
        EventLoopGroup group = null;
        try {
            if (!Epoll.isAvailable()) {
                throw new IOException("Netty's epoll transport is not available: " + Epoll.unavailabilityCause());
            }
            prepare();
            group = new EpollEventLoopGroup(1, new DefaultThreadFactory("septum-api-io", true));
            loop = group;
            Channel ch = new ServerBootstrap().group(group).channel(EpollServerDomainSocketChannel.class)
                    .option(io.netty.channel.ChannelOption.SO_BACKLOG, 64)
                    // a client may shut its side once its request is sent (socat, nc -N): it still gets the answer
                    .childOption(io.netty.channel.ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel c) {
                            channels.add(c);
                            pipeline(c);
                        }
                    })
                    // bound under a private name, its mode and group set, then renamed into place: no client can
                    // connect to the public path before the socket is 0660 with its group
                    .bind(new DomainSocketAddress(binding.toString())).syncUninterruptibly().channel();
            server = ch;
            if (closed) {
                close();
                return;
            }
            Files.setPosixFilePermissions(binding, PosixFilePermissions.fromString("rw-rw----"));
            if (settings.group() != null && !settings.group().isBlank()) {
                GroupPrincipal g = binding.getFileSystem().getUserPrincipalLookupService()
                        .lookupPrincipalByGroupName(settings.group());
                Files.getFileAttributeView(binding, PosixFileAttributeView.class).setGroup(g);
            }
            Files.move(binding, socket, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            bound.complete(socket);
            LOG.log(System.Logger.Level.INFO, "REST API listening on " + socket);
        } catch (Exception e) {
            // syncUninterruptibly rethrows the bind failure as is (a checked IOException included)
            LOG.log(System.Logger.Level.ERROR, "cannot serve the REST API on " + socket + ": " + e.getMessage(), e);
            Channel ch = server;
            if (ch != null) ch.close();
            if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            try {
                Files.deleteIfExists(binding);
            } catch (IOException ignored) {
                // best effort: prepare() removes it on the next start
            }
            bound.completeExceptionally(new IOException("cannot listen on " + socket + ": " + e.getMessage(), e));
        }
    }

    /** Creates the run directory; replaces a stale socket file, never one that a running agent answers on. */
    private void prepare() throws IOException {
        Path dir = socket.toAbsolutePath().getParent();
        if (dir != null) Files.createDirectories(dir);
        Files.deleteIfExists(binding); // left by an agent that died between bind and rename
        if (Files.exists(socket)) {
            try (java.nio.channels.SocketChannel probe = java.nio.channels.SocketChannel.open(StandardProtocolFamily.UNIX)) {
                probe.connect(UnixDomainSocketAddress.of(socket));
                throw new IOException("another process is listening on " + socket
                        + " (is another 'septum agent' running?)");
            } catch (IOException stale) {
                if (stale.getMessage() != null && stale.getMessage().startsWith("another process")) throw stale;
                Files.deleteIfExists(socket);
            }
        }
    }

    private void pipeline(Channel c) {
        if (closed) {
            c.close();
            return;
        }
        if (connections.incrementAndGet() > settings.maxConnections()) {
            // refused connections hold no slot: the answer goes out at once and the connection closes soon after
            connections.decrementAndGet();
            refused.incrementAndGet();
            c.pipeline().addLast("encoder", new HttpResponseEncoder()).addLast("refuse", new ChannelInboundHandlerAdapter() {
                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    // answered without reading the request: a small answer fits the socket buffer
                    finish(ctx.channel(), response(routes.error(503, "the agent is serving "
                            + settings.maxConnections() + " connections already; retry", List.of())),
                            Math.min(1_000, settings.ioTimeoutMillis()));
                }

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ReferenceCountUtil.release(msg);
                }
            });
            return;
        }
        AtomicBoolean slot = new AtomicBoolean(true);
        c.attr(SLOT).set(slot);
        c.closeFuture().addListener(f -> release(c));
        c.pipeline()
                .addLast("write-timeout", new WriteTimeoutHandler(settings.ioTimeoutMillis(), TimeUnit.MILLISECONDS))
                .addLast("deadline", new RequestDeadline(settings.ioTimeoutMillis()))
                .addLast("decoder", RequestGuard.decoder(limits))
                .addLast("encoder", new HttpResponseEncoder())
                .addLast("guard", new RequestGuard(limits, (ch, e) -> finish(ch, response(routes.error(e.status(), e.getMessage(), e.errors())))))
                .addLast("aggregator", new HttpObjectAggregator((int) Math.min(Integer.MAX_VALUE, limits.maxBodyBytes())))
                .addLast("api", new Dispatch());
    }

    /** Closes a connection whose request did not arrive in time, however slowly its bytes came. */
    static final class RequestDeadline extends ChannelInboundHandlerAdapter {
        private final long millis;
        private ScheduledFuture<?> timer;

        RequestDeadline(long millis) {
            this.millis = millis;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            timer = ctx.executor().schedule(() -> {
                ctx.close();
            }, millis, TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == REQUEST_DONE) {
                done();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        private void done() {
            if (timer != null) timer.cancel(false);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            done();
            ctx.fireChannelInactive();
        }
    }

    /** Takes the complete request off the event loop: routes and streams run on the worker pool. */
    private final class Dispatch extends ChannelInboundHandlerAdapter {
        private boolean received;

        /** The client shut its side before its request was complete: there is nothing to answer. */
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent && !received) ctx.close();
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof FullHttpRequest full)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            Channel ch = ctx.channel();
            received = true;
            HttpRequest req;
            try {
                ctx.pipeline().fireUserEventTriggered(REQUEST_DONE);
                ch.config().setAutoRead(false); // one request per connection
                req = RequestGuard.toRequest(full).withCaller(UnixCaller.of(ch));
            } finally {
                full.release();
            }
            served.incrementAndGet();
            try {
                workers.execute(() -> serve(ch, req));
            } catch (RejectedExecutionException e) {
                finish(ch, response(routes.error(503, "the agent is shutting down", List.of())));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // a write that timed out, or a client that left: nothing to answer
            ctx.close();
        }
    }

    private void serve(Channel ch, HttpRequest req) {
        try {
            if (req.method().equals("GET") && req.rawPath().equals("/v1/monitor")) {
                monitor(ch);
            } else if (req.method().equals("GET") && req.rawPath().equals("/v1/flows") && ApiRoutes.cluster(req)) {
                clusterFlows(ch, req);
            } else if (req.method().equals("GET") && req.rawPath().equals("/v1/flows") && ApiRoutes.follow(req)) {
                followFlows(ch, req);
            } else {
                String refused = access.refusal(req);
                finish(ch, response(refused != null ? routes.error(403, refused, List.of()) : routes.handle(req)));
            }
        } catch (IOException e) {
            ch.close(); // the client left, or did not take the answer in time
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "API connection failed", e);
            ch.close();
        }
    }

    /**
     * Writes the answer, then closes without resetting it: a request the server did not read (refused early, or its
     * body too large) would otherwise make the kernel reset the connection, and the client would lose the answer.
     * So the server shuts its side, reads and drops what the client still sends, and closes when the client does,
     * or after the deadline.
     */
    private void finish(Channel ch, FullHttpResponse r) {
        finish(ch, r, settings.ioTimeoutMillis());
    }

    private void finish(Channel ch, FullHttpResponse r, long lingerMillis) {
        if (!ch.isActive()) {
            release(ch);
            r.release();
            return;
        }
        ch.pipeline().addFirst("drain", new Drain());
        ch.config().setAutoRead(true);
        ch.writeAndFlush(r).addListener((ChannelFutureListener) f -> {
            // written (or failed): only now does the connection stop counting against maxConnections, so that
            // clients that ask for large answers and do not read them cannot get past the cap
            release(f.channel());
            if (!f.isSuccess() || !(f.channel() instanceof DuplexChannel d)) {
                f.channel().close();
                return;
            }
            if (d.isInputShutdown()) {
                d.close(); // the client has sent all it will: nothing to drain
                return;
            }
            d.shutdownOutput();
            f.channel().eventLoop().schedule(() -> {
                f.channel().close();
            }, lingerMillis, TimeUnit.MILLISECONDS);
        });
    }

    /** Gives back the connection's slot, once. */
    private void release(Channel ch) {
        AtomicBoolean slot = ch.attr(SLOT).get();
        if (slot != null && slot.compareAndSet(true, false)) connections.decrementAndGet();
    }

    /** Drops what a finished client still sends, up to a bound; closes once the client has shut its side. */
    private static final class Drain extends ChannelInboundHandlerAdapter {
        private long seen;

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) ctx.close();
            else ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf b) seen += b.readableBytes();
            ReferenceCountUtil.release(msg);
            if (seen > DRAIN_BYTES) ctx.close();
        }
    }

    /** Streams one JSON event per line until the client leaves or the server closes. */
    private void monitor(Channel ch) throws IOException {
        MonitorHub.Subscriber sub;
        try {
            sub = hub.subscribe();
        } catch (HttpException e) {
            finish(ch, response(routes.error(e.status(), e.getMessage(), List.of())));
            return;
        }
        NdjsonStream out = new NdjsonStream(ch, mapper, settings.ioTimeoutMillis());
        try (sub) {
            out.head();
            while (!closed && out.open()) {
                Object e;
                try {
                    e = sub.poll(settings.heartbeatMillis(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                    return;
                }
                if (e == null) out.heartbeat();
                else out.line(e);
            }
        } finally {
            out.end();
        }
    }

    /** Streams one flow JSON per line: the last {@code last} matching ones first, then new ones as they come. */
    private void followFlows(Channel ch, HttpRequest req) throws IOException {
        LocalFeed feed;
        try {
            feed = new LocalFeed(routes.backend().flowObserver(), ApiRoutes.flowQuery(req.query()));
        } catch (HttpException e) {
            finish(ch, response(routes.error(e.status(), e.getMessage(), List.of())));
            return;
        } catch (IllegalArgumentException e) {
            finish(ch, response(routes.error(400, e.getMessage(), List.of())));
            return;
        }
        NdjsonStream out = new NdjsonStream(ch, mapper, settings.ioTimeoutMillis());
        try (feed) {
            out.head();
            streamFeed(feed, out, () -> closed, settings.heartbeatMillis());
        } finally {
            out.end();
        }
    }

    /** A feed's backlog in one piece, then each new flow, a heartbeat when idle; until the client or server goes. */
    static void streamFeed(LocalFeed feed, NdjsonStream out, java.util.function.BooleanSupplier closed,
                           long heartbeatMillis) throws IOException {
        java.io.ByteArrayOutputStream first = new java.io.ByteArrayOutputStream();
        for (Flow f : feed.backlog()) first.write(out.bytes(f));
        if (first.size() > 0) out.chunk(first.toByteArray());
        while (!closed.getAsBoolean() && out.open()) {
            Flow f;
            try {
                f = feed.next(heartbeatMillis);
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
                return;
            }
            if (f == null) out.heartbeat();
            else out.line(f);
        }
    }

    /**
     * {@code /v1/flows?cluster=true}: every node's flows merged by the relay, with node status lines, as JSON lines
     * (the finite answer too, since status lines come between flows).
     */
    private void clusterFlows(Channel ch, HttpRequest req) throws IOException {
        FlowRelay relay;
        Map<String, List<String>> raw = new LinkedHashMap<>(req.query());
        raw.remove("cluster");
        try {
            relay = routes.backend().flowRelay();
            routes.backend().flowObserver(); // a 503 naming the observer now, rather than a stream that breaks
            ApiRoutes.flowQuery(raw); // a bad parameter is a 400 before the stream starts
        } catch (HttpException e) {
            finish(ch, response(routes.error(e.status(), e.getMessage(), List.of())));
            return;
        }
        raw.remove("follow");
        NdjsonStream out = new NdjsonStream(ch, mapper, settings.ioTimeoutMillis());
        try {
            out.head();
            relay.stream(raw, ApiRoutes.follow(req), new FlowRelay.Sink() {
                @Override
                public void flow(Flow f) throws IOException {
                    out.line(f);
                }

                @Override
                public void status(io.septum.api.flow.FlowNodeStatus s) throws IOException {
                    out.line(Map.of(io.septum.api.flow.FlowNodeStatus.KEY, s));
                }

                @Override
                public void idle() throws IOException {
                    out.heartbeat();
                }

                @Override
                public boolean open() {
                    return !closed && out.open();
                }
            });
        } finally {
            out.end();
        }
    }

    /** The routes' answer as Netty's, with the header names and reason phrases this API has always sent. */
    static FullHttpResponse response(HttpResponse r) {
        FullHttpResponse out = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                new HttpResponseStatus(r.status(), HttpResponse.reason(r.status())), Unpooled.wrappedBuffer(r.body()));
        Map<String, String> h = new LinkedHashMap<>();
        if (r.contentType() != null) h.put("Content-Type", r.contentType());
        h.putAll(r.headers());
        h.forEach(out.headers()::set);
        if (r.status() != 204 && r.status() != 304) out.headers().set("Content-Length", r.body().length);
        out.headers().set("Connection", "close");
        return out;
    }

    public long refused() {
        return refused.get();
    }

    /** Stops accepting, closes every connection (monitor streams end) and removes the socket file. */
    @Override
    public void close() {
        if (shutdown() != null) {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot remove " + socket + ": " + e.getMessage());
            }
        }
    }
}
