package io.septum.proxy.http.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Bounds the time from a request's first byte to its last header, however slowly the bytes trickle in (slowloris):
 * a client that sends a header byte every few seconds never trips an idle timeout, but it trips this one. Sits in
 * front of the decoder; the frontend handler says when the headers are complete and when the next request may start.
 */
final class HeaderDeadline extends ChannelInboundHandlerAdapter {
    private final long timeoutMillis;
    private final Runnable onTimeout;
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> timer;
    private boolean awaitingHeaders = true;

    HeaderDeadline(long timeoutMillis, Runnable onTimeout) {
        this.timeoutMillis = timeoutMillis;
        this.onTimeout = onTimeout;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (awaitingHeaders && timer == null && msg instanceof ByteBuf b && b.isReadable()) {
            timer = ctx.executor().schedule(() -> {
                timer = null;
                if (awaitingHeaders) onTimeout.run();
            }, timeoutMillis, TimeUnit.MILLISECONDS);
        }
        ctx.fireChannelRead(msg);
    }

    /** The current request's headers are in. */
    void headersDone() {
        awaitingHeaders = false;
        cancel();
    }

    /** The next bytes start a new request. */
    void expectHeaders() {
        awaitingHeaders = true;
        cancel();
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancel();
        ctx.fireChannelInactive();
    }
}
