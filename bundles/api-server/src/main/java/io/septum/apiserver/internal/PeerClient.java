package io.septum.apiserver.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * Reads another node's peer flow service: one TLS connection per request, this node's client certificate, and the
 * server's certificate checked against the cluster CA <em>and</em> against the node name the registry gives for that
 * address (its subject alternative DNS name), so that an address in the registry cannot stand in for another node.
 * The answer is JSON lines; each one goes to the {@link Listener}, on Netty's I/O thread (a listener never blocks).
 */
final class PeerClient implements AutoCloseable {
    /** What a request reports; exactly one of {@link #failed} and {@link #ended} comes, last. */
    interface Listener {
        /** The node answered 200: lines follow. */
        void connected();

        void line(String json);

        void failed(String message);

        /** The node ended its answer. */
        void ended();
    }

    /** An open request; closing it ends it without a report. */
    interface Request extends AutoCloseable {
        @Override
        void close();
    }

    private static final int MAX_LINE = 1 << 20;
    private final java.util.function.Supplier<SslContext> tls;
    private final long dialTimeoutMillis;
    private final long readTimeoutMillis;
    private final EventLoopGroup group = new NioEventLoopGroup(1, new DefaultThreadFactory("septum-peer-client", true));

    /**
     * @param readTimeoutMillis a silent connection is given up after this (peers send a heartbeat every few seconds)
     */
    PeerClient(SslContext tls, long dialTimeoutMillis, long readTimeoutMillis) {
        this(() -> tls, dialTimeoutMillis, readTimeoutMillis);
    }

    /** @param tls asked once per connection: a rotated certificate is used from the next one on ({@link PeerTlsFiles}) */
    PeerClient(java.util.function.Supplier<SslContext> tls, long dialTimeoutMillis, long readTimeoutMillis) {
        this.tls = tls;
        this.dialTimeoutMillis = dialTimeoutMillis;
        this.readTimeoutMillis = readTimeoutMillis;
    }

    /**
     * GETs {@code pathAndQuery} from {@code node}'s peer service at {@code hostPort} ({@code host:port} or
     * {@code [v6]:port}).
     */
    Request get(String node, String hostPort, String pathAndQuery, Listener l) {
        AtomicBoolean reported = new AtomicBoolean();
        Listener once = new Listener() {
            @Override
            public void connected() {
                if (!reported.get()) l.connected();
            }

            @Override
            public void line(String json) {
                if (!reported.get()) l.line(json);
            }

            @Override
            public void failed(String message) {
                if (reported.compareAndSet(false, true)) l.failed(message);
            }

            @Override
            public void ended() {
                if (reported.compareAndSet(false, true)) l.ended();
            }
        };
        int colon = hostPort.lastIndexOf(':');
        String host = colon < 0 ? hostPort : hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (RuntimeException e) {
            once.failed("its registered peer address \"" + hostPort + "\" is not host:port");
            return () -> { };
        }
        SslContext context = tls.get();
        ChannelFuture f = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) dialTimeoutMillis)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        SSLEngine engine = context.newEngine(c.alloc(), node, port);
                        SSLParameters p = engine.getSSLParameters();
                        // the certificate must name the node the registry says lives at this address
                        p.setEndpointIdentificationAlgorithm("HTTPS");
                        engine.setSSLParameters(p);
                        SslHandler ssl = new SslHandler(engine);
                        ssl.setHandshakeTimeoutMillis(dialTimeoutMillis);
                        c.pipeline().addLast("tls", ssl)
                                .addLast("read-timeout", new ReadTimeoutHandler(readTimeoutMillis, TimeUnit.MILLISECONDS))
                                .addLast("http", new HttpClientCodec())
                                .addLast("lines", new Lines(node, pathAndQuery, once));
                    }
                })
                .connect(host, port);
        String where = hostPort;
        f.addListener(done -> {
            if (!done.isSuccess()) once.failed("cannot connect to " + where + ": " + reason(done.cause()));
        });
        Channel ch = f.channel();
        return () -> {
            reported.set(true);
            ch.close();
        };
    }

    /** The innermost cause's words: a TLS refusal says more than the wrapper. */
    static String reason(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) c = c.getCause();
        String m = c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
        return c == t ? m : m + " (" + t.getClass().getSimpleName() + ")";
    }

    /** Sends the request once TLS is up; splits the answer into lines. */
    private static final class Lines extends SimpleChannelInboundHandler<HttpObject> {
        private final String node;
        private final String target;
        private final Listener l;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private int status;

        Lines(String node, String target, Listener l) {
            this.node = node;
            this.target = target;
            this.l = l;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.pipeline().get(SslHandler.class).handshakeFuture().addListener(hs -> {
                if (!hs.isSuccess()) {
                    l.failed("TLS with " + node + " failed: " + reason(hs.cause()));
                    ctx.close();
                    return;
                }
                DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, target);
                req.headers().set("Host", node).set("Accept", "application/x-ndjson").set("Connection", "close");
                ctx.writeAndFlush(req);
            });
            ctx.fireChannelActive();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (msg instanceof HttpResponse r) {
                status = r.status().code();
                if (status == 200) l.connected();
            }
            if (msg instanceof HttpContent c) {
                ByteBuf b = c.content();
                while (b.isReadable()) {
                    byte x = b.readByte();
                    if (status != 200 || x != '\n') {
                        line.write(x);
                        if (line.size() > MAX_LINE) {
                            l.failed(node + " sent a line longer than " + MAX_LINE + " bytes");
                            ctx.close();
                            return;
                        }
                        continue;
                    }
                    if (line.size() > 0) l.line(line.toString(StandardCharsets.UTF_8));
                    line.reset();
                }
                if (c instanceof LastHttpContent) {
                    if (status == 200) {
                        if (line.size() > 0) l.line(line.toString(StandardCharsets.UTF_8));
                        l.ended();
                    } else {
                        l.failed(node + " answered HTTP " + status + ": " + line.toString(StandardCharsets.UTF_8).strip());
                    }
                    ctx.close();
                }
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            l.failed("the connection to " + node + " closed before its answer ended");
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            String why = cause instanceof io.netty.handler.timeout.ReadTimeoutException
                    ? node + " sent nothing (not even a heartbeat) for too long" : reason(cause);
            l.failed(why);
            ctx.close();
        }
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(2, TimeUnit.SECONDS);
    }
}
