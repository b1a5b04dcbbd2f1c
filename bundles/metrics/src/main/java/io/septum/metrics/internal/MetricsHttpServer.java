package io.septum.metrics.internal;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * {@code /metrics} in Prometheus's exposition formats (text, or OpenMetrics when the scraper asks for it), served by
 * Netty on one address: the same HTTP stack as the API server, the web UI and the L7 proxy. Scrapes are small and
 * rare, so one event-loop thread serves them all; a client that sends no request within 10 s is cut off.
 */
final class MetricsHttpServer implements AutoCloseable {
    private static final int MAX_REQUEST_BYTES = 8 * 1024;

    private final PrometheusRegistry registry;
    private final ExpositionFormats formats = ExpositionFormats.init();
    private final EventLoopGroup group;
    private final Channel channel;

    private MetricsHttpServer(PrometheusRegistry registry, InetSocketAddress address) throws IOException {
        this.registry = registry;
        boolean epoll = Epoll.isAvailable();
        DefaultThreadFactory threads = new DefaultThreadFactory("septum-metrics-http", true);
        this.group = epoll ? new EpollEventLoopGroup(1, threads) : new NioEventLoopGroup(1, threads);
        Class<? extends ServerChannel> type = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        try {
            this.channel = new ServerBootstrap().group(group).channel(type)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline()
                                    .addLast(new ReadTimeoutHandler(10, TimeUnit.SECONDS))
                                    .addLast(new HttpServerCodec(4096, MAX_REQUEST_BYTES, 8192))
                                    .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
                                    .addLast(new Scrape());
                        }
                    })
                    .bind(address).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Binds {@code address} (port 0: any free port) and serves until {@link #close()}. */
    static MetricsHttpServer start(PrometheusRegistry registry, InetSocketAddress address) throws IOException {
        return new MetricsHttpServer(registry, address);
    }

    int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }

    private final class Scrape extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            FullHttpResponse r;
            String path = new QueryStringDecoder(req.uri()).path();
            if (!req.decoderResult().isSuccess()) {
                r = text(HttpResponseStatus.BAD_REQUEST, "bad request\n");
            } else if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.HEAD)) {
                r = text(HttpResponseStatus.METHOD_NOT_ALLOWED, "GET only\n");
                r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            } else if (path.equals("/metrics") || path.equals("/")) {
                r = scrape(req.headers().get(HttpHeaderNames.ACCEPT));
            } else if (path.equals("/-/healthy")) {
                r = text(HttpResponseStatus.OK, "Exporter is healthy.\n");
            } else {
                r = text(HttpResponseStatus.NOT_FOUND, "not found: metrics are at /metrics\n");
            }
            if (req.method().equals(HttpMethod.HEAD)) r = r.replace(Unpooled.EMPTY_BUFFER);
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }

        private FullHttpResponse scrape(String accept) {
            ExpositionFormatWriter writer = formats.findWriter(accept);
            DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            try (ByteBufOutputStream out = new ByteBufOutputStream(r.content())) {
                writer.write(out, registry.scrape());
            } catch (IOException | RuntimeException e) {
                r.release();
                return text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "scrape failed: " + e.getMessage() + "\n");
            }
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, writer.getContentType())
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
            return r;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a timed-out or broken scrape: nothing to answer
        }
    }

    private static FullHttpResponse text(HttpResponseStatus status, String body) {
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
        return r;
    }
}
