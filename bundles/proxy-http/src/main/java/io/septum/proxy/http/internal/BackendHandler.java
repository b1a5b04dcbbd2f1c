package io.septum.proxy.http.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.ReferenceCountUtil;

/** The upstream side of one client connection: hands the decoded response to the frontend as it arrives. */
final class BackendHandler extends ChannelInboundHandlerAdapter {
    private final FrontendHandler front;

    BackendHandler(FrontendHandler front) {
        this.front = front;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpResponse r) {
            if (r.decoderResult().isFailure()) {
                ReferenceCountUtil.release(msg);
                front.upstreamFailed("invalid response from upstream: " + r.decoderResult().cause().getMessage());
                return;
            }
            front.onResponseHead(r);
        }
        if (msg instanceof HttpContent c) {
            front.onResponseContent(c);
        } else if (!(msg instanceof HttpResponse)) {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        front.onUpstreamClosed(ctx.channel());
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
