package io.septum.apiserver.internal;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.septum.api.ComponentStatus;
import io.septum.support.thread.DaemonThreads;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * What the REST API's server ({@link ApiServer}) and the peer flow service ({@link PeerFlowServer}) share: binding
 * on a thread of its own, the future of where it is bound, its status line, the counters, the worker pool and the
 * order in which all of it is closed. Each binds its own transport and builds its own pipeline.
 *
 * @param <A> where a bound server is reached (the socket file, an address)
 */
abstract class NettyServer<A> {
    final CompletableFuture<A> bound = new CompletableFuture<>();
    final AtomicInteger connections = new AtomicInteger();
    final AtomicLong served = new AtomicLong();
    final ThreadPoolExecutor workers;
    final ChannelGroup channels;
    volatile boolean closed;
    volatile EventLoopGroup loop;
    volatile Channel server;

    /**
     * @param workerThreads the name of the workers' threads, numbered
     * @param channelGroup  the name of the group of open connections
     */
    NettyServer(int maxConnections, String workerThreads, String channelGroup) {
        // one worker per connection at most: connections are capped, so the pool never refuses
        this.workers = new ThreadPoolExecutor(0, maxConnections, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                DaemonThreads.numbered(workerThreads));
        this.channels = new DefaultChannelGroup(channelGroup, GlobalEventExecutor.INSTANCE);
    }

    /** Binds; sets {@link #loop} and {@link #server}, then completes or fails {@link #bound}. */
    abstract void bind();

    /** Runs {@link #bind} on a thread named {@code bindThread}: the caller never waits on it. */
    final CompletableFuture<A> startOn(String bindThread) {
        DaemonThreads.start(bindThread, this::bind);
        return bound;
    }

    /** The status line {@code name}: binding {@code where}, failed with why it could not, or ok with {@code serving}. */
    final ComponentStatus health(String name, Object where, Supplier<String> serving) {
        if (!bound.isDone()) return new ComponentStatus(name, "degraded", "binding " + where);
        if (bound.isCompletedExceptionally()) {
            return ComponentStatus.failed(name, bound.handle((a, e) -> e.getMessage()).join());
        }
        return ComponentStatus.ok(name, serving.get());
    }

    public long served() {
        return served.get();
    }

    /**
     * Stops accepting, closes every connection, the workers and the loop. Returns the server's channel, or null when
     * it had not bound (a bind that completes later sees {@link #closed} and shuts down again).
     */
    final Channel shutdown() {
        closed = true;
        Channel s = server;
        if (s != null) s.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        channels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        workers.shutdownNow();
        EventLoopGroup g = loop;
        if (g != null) g.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
        return s;
    }
}
