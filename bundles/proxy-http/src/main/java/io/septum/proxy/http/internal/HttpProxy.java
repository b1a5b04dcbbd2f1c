package io.septum.proxy.http.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.timeout.IdleStateHandler;
import io.septum.api.flow.Flow;
import io.septum.proxy.common.ProxySockets;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The listener and the upstream connector. One accept thread and two I/O threads (the machine is small); an
 * upstream connection lives on its client connection's event loop, so one connection's work never crosses threads.
 */
final class HttpProxy implements AutoCloseable {
    private final ProxySettings settings;
    private final Judge judge;
    private final Consumer<Flow> flows;
    private final UnaryOperator<InetSocketAddress> destination;
    private final AtomicInteger open = new AtomicInteger();
    final LongAdder connections = new LongAdder();
    final LongAdder refused = new LongAdder();
    final LongAdder requests = new LongAdder();
    final LongAdder denied = new LongAdder();
    final LongAdder rejected = new LongAdder();
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private final io.septum.proxy.common.EventLoopWatch watch = new io.septum.proxy.common.EventLoopWatch();
    private Channel server;

    /**
     * @param destination where a connection accepted with this local address is forwarded: the identity in the
     *                    agent (transparent: the local address is the original destination); tests point it at
     *                    their server
     */
    HttpProxy(ProxySettings settings, Judge judge, Consumer<Flow> flows, UnaryOperator<InetSocketAddress> destination) {
        this.settings = settings;
        this.judge = judge;
        this.flows = flows;
        this.destination = destination;
    }

    /** Binds the listener; throws with the reason when it cannot (native epoll missing, port taken, no privilege). */
    synchronized InetSocketAddress start() throws Exception {
        if (!Epoll.isAvailable()) {
            Throwable why = Epoll.unavailabilityCause();
            throw new IllegalStateException("Netty native epoll is not available: " + (why == null ? "unknown" : why.getMessage()), why);
        }
        boss = new EpollEventLoopGroup(1, new DefaultThreadFactory("septum-proxy-accept", true));
        workers = new EpollEventLoopGroup(2, new DefaultThreadFactory("septum-proxy-io", true));
        watch.clear();
        watch.watch(boss);
        watch.watch(workers);
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.increment();
                        if (open.incrementAndGet() > settings.maxConnections()) {
                            refused.increment();
                            open.decrementAndGet();
                            ch.close();
                            return;
                        }
                        ch.closeFuture().addListener(f -> open.decrementAndGet());
                        FrontendHandler front = new FrontendHandler(HttpProxy.this);
                        HeaderDeadline deadline = new HeaderDeadline(settings.headerTimeoutMillis(), front::headerTimeout);
                        front.deadline(deadline);
                        ch.pipeline()
                                .addLast("idle", new IdleStateHandler(0, 0, settings.idleTimeoutMillis(), TimeUnit.MILLISECONDS))
                                .addLast("deadline", deadline)
                                .addLast("decoder", new GuardedRequestDecoder(settings.maxHeaderBytes()))
                                .addLast("encoder", new HttpResponseEncoder())
                                .addLast("front", front);
                    }
                });
        if (settings.transparent()) b.option(EpollChannelOption.IP_TRANSPARENT, true);
        try {
            server = b.bind(new InetSocketAddress(settings.port())).sync().channel();
        } catch (Exception e) {
            close();
            throw new IllegalStateException("cannot listen on port " + settings.port() + ": " + e.getMessage(), e);
        }
        return (InetSocketAddress) server.localAddress();
    }

    /**
     * The upstream leg to the original destination; from {@code source} (the client's address, with IP_TRANSPARENT)
     * when not null, else from this host's own address.
     */
    ChannelFuture connectUpstream(EventLoop loop, InetSocketAddress original, InetSocketAddress source, BackendHandler handler) {
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(EpollSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, settings.connectTimeoutMillis()))
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline()
                                .addLast("codec", new HttpClientCodec(8192, 65536, 65536))
                                .addLast("back", handler);
                    }
                });
        if (settings.upstreamMark() != 0) b.option(ProxySockets.SO_MARK, settings.upstreamMark());
        if (source != null) {
            b.option(io.netty.channel.epoll.EpollChannelOption.IP_TRANSPARENT, true);
            return b.connect(destination.apply(original), new InetSocketAddress(source.getAddress(), 0));
        }
        return b.connect(destination.apply(original));
    }

    ProxySettings settings() {
        return settings;
    }

    Judge judge() {
        return judge;
    }

    void flow(Flow f) {
        try {
            flows.accept(f);
        } catch (RuntimeException e) {
            // a failing sink never fails a request
        }
    }

    /** The listener's port, -1 when not listening. */
    int listenPort() {
        Channel s = server;
        return s == null ? -1 : ((InetSocketAddress) s.localAddress()).getPort();
    }

    int openConnections() {
        return open.get();
    }

    boolean listening() {
        Channel s = server;
        return s != null && s.isActive();
    }

    /** Why one of the proxy's event loops is stuck, or null. */
    String stuck() {
        return watch.stuck(io.septum.proxy.common.EventLoopWatch.STUCK_MILLIS);
    }

    @Override
    public synchronized void close() {
        watch.clear(); // a proxy that failed to start or was stopped has no loop to be stuck
        if (server != null) server.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        server = null;
        if (boss != null) boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
        if (workers != null) workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
        boss = null;
        workers = null;
    }
}
