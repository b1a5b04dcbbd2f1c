package io.septum.webui.internal;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowQuery;
import io.septum.api.flow.FlowRelay;
import io.septum.api.flow.FlowSubscription;
import io.septum.support.thread.DaemonThreads;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The HTTP side of the UI, on Netty (the agent's one HTTP stack): the bundled front-end (resources under
 * {@code /webui/} in this bundle), the JSON API ({@link UiApi}) and {@code /api/stream}, flows as server-sent events
 * (a chunked response). One event-loop thread does the I/O; API calls, which ask the agent's services, and streams,
 * which wait for flows, run on a bounded pool, so streams are limited. Requests whose {@code Host} is not a loopback
 * name are refused (a foreign page that rebinds its DNS name to 127.0.0.1 cannot read the API).
 */
final class WebUiServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WebUiServer.class.getName());
    private static final int MAX_BODY = 1 << 20;
    private static final long KEEPALIVE_MILLIS = 5_000;
    /** What a login link carries after {@code #}: the page reads it, the server never sees it in a URL. */
    static final String LOGIN_FRAGMENT = "login=";
    /** How long one piece of an answer may wait for a client that does not read. */
    private static final long WRITE_TIMEOUT_MILLIS = 10_000;
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8",
            "txt", "text/plain; charset=utf-8", "svg", "image/svg+xml", "png", "image/png", "json", "application/json");

    private final InetSocketAddress address;
    private final UiApi api;
    private final int maxStreams;
    private final AtomicInteger streams = new AtomicInteger();
    private final Set<FlowSubscription> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;
    private EventLoopGroup group;
    private ChannelGroup channels;
    private Channel server;
    private ThreadPoolExecutor executor;

    WebUiServer(InetSocketAddress address, UiApi api, int maxStreams) {
        this.address = address;
        this.api = api;
        this.maxStreams = maxStreams;
    }

    /** Binds and serves; throws when the address cannot be bound (in use, not local). */
    synchronized void start() throws IOException {
        // closed before it started (a quick reconfiguration): never bind afterwards, nobody would close it
        if (closing) throw new IOException("the web UI server was closed before it started");
        // streams hold their thread; a few more serve pages and API calls while every stream is open
        ThreadPoolExecutor pool = new ThreadPoolExecutor(maxStreams + 4, maxStreams + 4, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(256), DaemonThreads.numbered("septum-webui"));
        pool.allowCoreThreadTimeOut(true);
        boolean epoll = Epoll.isAvailable();
        DefaultThreadFactory threads = new DefaultThreadFactory("septum-webui-io", true);
        EventLoopGroup g = epoll ? new EpollEventLoopGroup(1, threads) : new NioEventLoopGroup(1, threads);
        Class<? extends ServerChannel> type = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        ChannelGroup all = new DefaultChannelGroup("septum-webui", GlobalEventExecutor.INSTANCE);
        try {
            server = new ServerBootstrap().group(g).channel(type)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            all.add(ch);
                            ch.pipeline()
                                    .addLast(new HttpServerCodec(8192, 16 * 1024, 8192))
                                    .addLast(new Aggregator())
                                    .addLast(new Handler());
                        }
                    })
                    .bind(address).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            g.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            pool.shutdownNow();
            throw new IOException(e.getMessage(), e);
        }
        group = g;
        channels = all;
        executor = pool;
    }

    /** The bound address (the port is the real one when 0 was configured). */
    synchronized InetSocketAddress boundAddress() {
        return server == null ? null : (InetSocketAddress) server.localAddress();
    }

    int streams() {
        return streams.get();
    }

    @Override
    public synchronized void close() {
        closing = true;
        for (FlowSubscription sub : List.copyOf(open)) sub.close();
        if (server != null) server.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        if (channels != null) channels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        if (executor != null) executor.shutdownNow();
        if (group != null) group.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        server = null;
    }

    /** A body over the limit is a JSON 413, as every other refusal, and ends the connection. */
    private final class Aggregator extends HttpObjectAggregator {
        Aggregator() {
            super(MAX_BODY);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            FullHttpResponse r = answer(api.error(413, "request body over " + MAX_BODY + " bytes"));
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * One request at a time per connection: reading stops until the answer is written, so answers computed on the
     * pool never overtake each other.
     */
    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            Channel ch = ctx.channel();
            boolean keepAlive = HttpUtil.isKeepAlive(req) && req.decoderResult().isSuccess();
            if (!req.decoderResult().isSuccess()) {
                send(ch, answer(api.error(400, "malformed request: " + req.decoderResult().cause().getMessage())), false);
                return;
            }
            String host = req.headers().get(HttpHeaderNames.HOST);
            if (!LoopbackAddress.hostAllowed(host)) {
                send(ch, answer(api.error(403, "Host \"" + host + "\" is not this loopback server; open the UI as "
                        + "http://127.0.0.1:PORT/ or http://localhost:PORT/")), keepAlive);
                return;
            }
            String uri = req.uri();
            int q = uri.indexOf('?');
            String path = q < 0 ? uri : uri.substring(0, q);
            String rawQuery = q < 0 ? null : uri.substring(q + 1);
            String method = req.method().name();
            byte[] body = new byte[req.content().readableBytes()];
            req.content().readBytes(body);
            ch.config().setAutoRead(false);
            try {
                executor.execute(() -> {
                    try {
                        if (path.equals("/api/stream")) {
                            stream(ch, method, rawQuery, keepAlive);
                        } else if (path.startsWith("/api/")) {
                            HttpHeaders h = req.headers();
                            UiCall call = new UiCall(method, path, query(rawQuery), body, host,
                                    h.get(HttpHeaderNames.COOKIE), h.get("X-CSRF-Token"), h.get(HttpHeaderNames.ORIGIN),
                                    h.get("Sec-Fetch-Site"));
                            send(ch, answer(api.handle(call)), keepAlive);
                        } else {
                            send(ch, file(method, path), keepAlive);
                        }
                    } catch (UiException e) {
                        send(ch, answer(api.error(e.status(), e.getMessage())), keepAlive);
                    } catch (IOException e) {
                        LOG.log(System.Logger.Level.DEBUG, "web UI client went away: " + e);
                        ch.close();
                    } catch (RuntimeException e) {
                        LOG.log(System.Logger.Level.WARNING, "web UI request failed", e);
                        ch.close();
                    }
                });
            } catch (RejectedExecutionException e) {
                send(ch, answer(api.error(503, "the web UI is busy; retry")), false);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.log(System.Logger.Level.DEBUG, "web UI connection failed: " + cause);
            ctx.close();
        }
    }

    /** Writes a complete answer; the next request is read once it is out, or the connection closes. */
    private static void send(Channel ch, FullHttpResponse r, boolean keepAlive) {
        headers(r.headers());
        if (keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ch.writeAndFlush(r).addListener((ChannelFutureListener) f -> {
                if (f.isSuccess()) f.channel().config().setAutoRead(true);
                else f.channel().close();
            });
        } else {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ch.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private static void headers(HttpHeaders h) {
        h.set("X-Content-Type-Options", "nosniff");
        h.set("X-Frame-Options", "DENY");
        h.set("Referrer-Policy", "no-referrer");
        h.set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
    }

    private static FullHttpResponse answer(UiApi.Answer a) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(a.status()),
                Unpooled.wrappedBuffer(a.body()));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                .set(HttpHeaderNames.CACHE_CONTROL, "no-store")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, a.body().length);
        if (a.setCookie() != null) r.headers().set(HttpHeaderNames.SET_COOKIE, a.setCookie());
        return r;
    }

    private FullHttpResponse file(String method, String path) throws IOException {
        if (!method.equals("GET") && !method.equals("HEAD")) {
            return answer(api.error(405, "method " + method + " not allowed here (allowed: GET)"));
        }
        String name = path.equals("/") ? "index.html" : path.substring(1);
        byte[] bytes = null;
        if (name.matches("[A-Za-z0-9_-][A-Za-z0-9._-]*")) {
            try (InputStream in = WebUiServer.class.getResourceAsStream("/webui/" + name)) {
                if (in != null) bytes = in.readAllBytes();
            }
        }
        if (bytes == null) return answer(api.error(404, "no such page: " + path));
        String ext = name.substring(name.lastIndexOf('.') + 1);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                method.equals("HEAD") ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, TYPES.getOrDefault(ext, "application/octet-stream"))
                .set(HttpHeaderNames.CACHE_CONTROL, "no-cache")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        return r;
    }

    /**
     * Server-sent events: the last N matching flows, then each new one, as {@code data: <Flow JSON>}; a comment
     * line every 5 s keeps proxies and the browser from timing out an idle stream, and notices a closed tab. The
     * subscription starts before the backlog is read, so that no flow falls between them; a flow in both is sent
     * once. Runs on a pool thread for as long as the page is open.
     */
    private void stream(Channel ch, String method, String rawQuery, boolean keepAlive) throws IOException {
        if (!method.equals("GET")) throw new UiException(405, "method " + method + " not allowed here (allowed: GET)");
        Map<String, List<String>> query = query(rawQuery);
        FlowQuery q = UiApi.flowQuery(query);
        boolean cluster = UiApi.cluster(query);
        FlowRelay relay = cluster ? api.backend().need(FlowRelay.class) : null; // a 503 before the stream
        if (streams.incrementAndGet() > maxStreams) {
            streams.decrementAndGet();
            throw new UiException(503, "too many live streams (" + maxStreams + "); close another UI tab or raise maxStreams");
        }
        if (relay != null) {
            clusterStream(ch, relay, UiApi.relayQuery(query));
            return;
        }
        FlowSubscription sub = null;
        try {
            sub = api.backend().need(FlowObserver.class).follow(q.filter());
            open.add(sub);
            if (closing) return;
            List<Flow> backlog = api.backend().need(FlowObserver.class).query(q.filter(), q.last());
            long newest = backlog.isEmpty() ? Long.MIN_VALUE : backlog.get(backlog.size() - 1).timeNanos();
            Set<Flow> atNewest = new HashSet<>();
            for (Flow f : backlog) if (f.timeNanos() == newest) atNewest.add(f);
            ch.write(eventStreamHead());
            StringBuilder first = new StringBuilder(": septum flows\n\n");
            for (Flow f : backlog) first.append(event(f));
            first.append("event: backlog-done\ndata: {}\n\n");
            chunk(ch, first.toString());
            while (!closing && ch.isActive()) {
                Flow f = sub.poll(KEEPALIVE_MILLIS, TimeUnit.MILLISECONDS);
                if (f == null) {
                    chunk(ch, ": keepalive\n\n");
                } else {
                    if (f.timeNanos() < newest || (f.timeNanos() == newest && atNewest.contains(f))) continue;
                    chunk(ch, event(f));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (sub != null) {
                open.remove(sub);
                sub.close();
            }
            streams.decrementAndGet();
            if (ch.isActive()) ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private static HttpResponse eventStreamHead() {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        headers(head.headers());
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
                .set(HttpHeaderNames.CACHE_CONTROL, "no-store")
                .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return head;
    }

    /**
     * {@code cluster=true}: the relay's followed stream, every node's flows merged within its window, as
     * {@code data:} events, and each node report as an {@code event: node-status} (a node unreachable, back, or
     * flows lost). The relay's idle heartbeats become comment lines, which notice a closed tab.
     */
    private void clusterStream(Channel ch, io.septum.api.flow.FlowRelay relay, Map<String, List<String>> query)
            throws IOException {
        try {
            ch.write(eventStreamHead());
            chunk(ch, ": septum flows of every node\n\n");
            relay.stream(query, true, new io.septum.api.flow.FlowRelay.Sink() {
                @Override
                public void flow(Flow f) throws IOException {
                    chunk(ch, event(f));
                }

                @Override
                public void status(io.septum.api.flow.FlowNodeStatus s) throws IOException {
                    chunk(ch, "event: node-status\ndata: " + api.mapper().writeValueAsString(s) + "\n\n");
                }

                @Override
                public void idle() throws IOException {
                    chunk(ch, ": keepalive\n\n");
                }

                @Override
                public boolean open() {
                    return !closing && ch.isActive();
                }
            });
        } catch (IllegalArgumentException | IllegalStateException e) {
            // the head is out: the page sees the stream end and reconnects; the reason goes to the log
            LOG.log(System.Logger.Level.WARNING, "web UI cluster flow stream ended: " + e.getMessage());
        } finally {
            streams.decrementAndGet();
            if (ch.isActive()) ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** One piece of the stream; a client that does not take it within the write timeout is cut off. */
    private static void chunk(Channel ch, String text) throws IOException {
        ChannelFuture f = ch.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8)));
        try {
            if (!f.await(WRITE_TIMEOUT_MILLIS)) {
                ch.close();
                throw new IOException("the client did not read for " + WRITE_TIMEOUT_MILLIS + " ms");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (!f.isSuccess()) throw new IOException("the client went away: " + f.cause());
    }

    private String event(Flow f) throws IOException {
        // JSON has no raw newline: one data line
        return "data: " + api.mapper().writeValueAsString(f) + "\n\n";
    }

    /** {@code a=1&b=2&b=3}, URL-decoded; a key without {@code =} has an empty value; a bad escape is a 400. */
    static Map<String, List<String>> query(String raw) {
        try {
            return decode(raw);
        } catch (IllegalArgumentException e) {
            throw new UiException(400, "malformed query string: " + e.getMessage());
        }
    }

    private static Map<String, List<String>> decode(String raw) {
        Map<String, List<String>> q = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) return q;
        for (String part : raw.split("&")) {
            if (part.isEmpty()) continue;
            int eq = part.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
            q.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
        return q;
    }
}
