package io.septum.apiserver.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.WriteTimeoutHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.septum.api.ComponentStatus;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowQuery;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * This node's flows for the other nodes' relays: {@code GET /v1/flows} (the same parameters as on the unix socket,
 * {@code follow=true} included), answered as JSON lines, over TCP with TLS and a <b>required</b> client certificate
 * signed by the cluster CA. A connection without one, or with one from another CA, fails its handshake and never
 * reaches HTTP. Nothing else is served on this port: no write, no other read.
 *
 * <p>The same Netty pipeline as the unix socket's API ({@link RequestGuard}'s strict decoder, the request deadline,
 * the write deadline, a cap on connections), with {@link SslHandler} in front.
 */
final class PeerFlowServer extends NettyServer<InetSocketAddress> implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PeerFlowServer.class.getName());

    record Settings(int maxConnections, long ioTimeoutMillis, long heartbeatMillis) {
        static Settings defaults() {
            return new Settings(16, 10_000, 5_000);
        }
    }

    private final InetSocketAddress address;
    private final Supplier<SslContext> tls;
    private final Supplier<FlowObserver> observer;
    private final ObjectMapper mapper;
    private final Settings settings;
    private final RequestGuard.Limits limits = RequestGuard.Limits.defaults();
    private final AtomicLong refusedHandshakes = new AtomicLong();

    PeerFlowServer(InetSocketAddress address, SslContext tls, Supplier<FlowObserver> observer, ObjectMapper mapper, Settings settings) {
        this(address, () -> tls, observer, mapper, settings);
    }

    /** @param tls asked once per connection: a rotated certificate is served from the next one on ({@link PeerTlsFiles}) */
    PeerFlowServer(InetSocketAddress address, Supplier<SslContext> tls, Supplier<FlowObserver> observer, ObjectMapper mapper,
                   Settings settings) {
        super(settings.maxConnections(), "septum-peer-flows", "septum-peer");
        this.address = address;
        this.tls = tls;
        this.observer = observer;
        this.mapper = mapper;
        this.settings = settings;
    }

    /** Binds on a thread of its own; the future completes with the bound address (port 0 picks one). */
    CompletableFuture<InetSocketAddress> start() {
        return startOn("septum-peer-bind");
    }

    @Override
    void bind() {
        EventLoopGroup group = new NioEventLoopGroup(1, new DefaultThreadFactory("septum-peer-io", true));
        loop = group;
        try {
            Channel ch = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_BACKLOG, 64)
                    .option(ChannelOption.SO_REUSEADDR, true) // a restarted agent gets its port back at once
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            pipeline(c);
                        }
                    })
                    .bind(address).syncUninterruptibly().channel();
            server = ch;
            if (closed) {
                close();
                return;
            }
            InetSocketAddress a = (InetSocketAddress) ch.localAddress();
            LOG.log(System.Logger.Level.INFO, "peer flow service listening on " + a + " (TLS, client certificates required)");
            bound.complete(a);
        } catch (Exception e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            LOG.log(System.Logger.Level.ERROR, "cannot serve peer flows on " + address + ": " + e.getMessage());
            bound.completeExceptionally(new IOException("cannot listen on " + address + ": " + e.getMessage(), e));
        }
    }

    private void pipeline(SocketChannel c) {
        if (closed || connections.incrementAndGet() > settings.maxConnections()) {
            if (!closed) connections.decrementAndGet();
            c.close(); // before TLS: an over-full server says nothing to anybody
            return;
        }
        channels.add(c);
        c.closeFuture().addListener(f -> connections.decrementAndGet());
        SslHandler ssl = tls.get().newHandler(c.alloc());
        ssl.setHandshakeTimeoutMillis(settings.ioTimeoutMillis());
        ssl.handshakeFuture().addListener(f -> {
            if (!f.isSuccess()) {
                refusedHandshakes.incrementAndGet();
                LOG.log(System.Logger.Level.INFO, "peer flow service: refused " + c.remoteAddress() + ": "
                        + PeerClient.reason(f.cause()));
                c.close();
            }
        });
        c.pipeline()
                .addLast("tls", ssl)
                .addLast("write-timeout", new WriteTimeoutHandler(settings.ioTimeoutMillis(), TimeUnit.MILLISECONDS))
                .addLast("deadline", new ApiServer.RequestDeadline(settings.ioTimeoutMillis()))
                .addLast("decoder", RequestGuard.decoder(limits))
                .addLast("encoder", new HttpResponseEncoder())
                .addLast("guard", new RequestGuard(limits, (ch, e) -> error(ch, e.status(), e.getMessage())))
                .addLast("aggregator", new HttpObjectAggregator((int) Math.min(Integer.MAX_VALUE, limits.maxBodyBytes())))
                .addLast("flows", new Dispatch());
    }

    private final class Dispatch extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof FullHttpRequest full)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            HttpRequest req;
            try {
                ctx.pipeline().fireUserEventTriggered(ApiServer.REQUEST_DONE);
                ctx.channel().config().setAutoRead(false); // one request per connection
                req = RequestGuard.toRequest(full);
            } finally {
                full.release();
            }
            served.incrementAndGet();
            try {
                workers.execute(() -> serve(ctx.channel(), req));
            } catch (RejectedExecutionException e) {
                error(ctx.channel(), 503, "the agent is shutting down");
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a refused handshake (counted there), a write that timed out, a client that left
        }
    }

    private void serve(Channel ch, HttpRequest req) {
        if (!req.method().equals("GET") || !req.rawPath().equals("/v1/flows")) {
            error(ch, 404, "the peer flow service serves GET /v1/flows only");
            return;
        }
        FlowObserver o = observer.get();
        if (o == null) {
            error(ch, 503, "the flow observer (bundle septum-observer) is not running on this node");
            return;
        }
        NdjsonStream out = new NdjsonStream(ch, mapper, settings.ioTimeoutMillis());
        try {
            FlowQuery q = ApiRoutes.flowQuery(req.query());
            if (ApiRoutes.follow(req)) {
                try (LocalFeed feed = new LocalFeed(o, q)) {
                    out.head();
                    ApiServer.streamFeed(feed, out, () -> closed, settings.heartbeatMillis());
                }
            } else {
                java.util.List<Flow> flows = o.query(q.filter(), q.last());
                out.head();
                java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
                for (Flow f : flows) all.write(out.bytes(f));
                if (all.size() > 0) out.chunk(all.toByteArray());
            }
            out.end();
        } catch (HttpException e) {
            error(ch, e.status(), e.getMessage());
        } catch (IllegalArgumentException e) {
            error(ch, 400, e.getMessage());
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "peer flow stream ended: " + e.getMessage());
            ch.close();
        }
    }

    private void error(Channel ch, int status, String message) {
        byte[] body;
        try {
            body = mapper.writeValueAsBytes(Map.of("error", message == null ? "" : message));
        } catch (IOException e) {
            body = new byte[0];
        }
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.wrappedBuffer(body));
        r.headers().set("Content-Type", "application/json").set("Content-Length", body.length).set("Connection", "close");
        if (ch.isActive()) ch.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        else r.release();
    }

    /** Connections whose TLS handshake failed: no certificate, one from another CA, no TLS at all. */
    long refusedHandshakes() {
        return refusedHandshakes.get();
    }

    ComponentStatus health() {
        return health("peer-flows", address, () -> "serving flows to peers on " + bound.join() + " (TLS, client"
                + " certificates of the cluster CA required), " + served.get() + " request(s), " + refusedHandshakes.get()
                + " connection(s) refused in the handshake");
    }

    @Override
    public void close() {
        shutdown();
    }
}
