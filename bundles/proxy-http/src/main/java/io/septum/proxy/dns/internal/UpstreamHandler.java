package io.septum.proxy.dns.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import java.util.function.Consumer;

/**
 * The forwarding socket's handler: offers each datagram to {@code answer} until it takes one, then closes the socket
 * once Netty's read loop is over. Closing inside the loop is not safe: {@code EpollDatagramChannel} goes on reading
 * its batch from the socket's file descriptor number after the close. Once, another thread had reused the number for
 * a blocking socket, and the DNS proxy's event loop blocked in it for good: no DNS answer after that. Had it been a
 * netlink socket of the datapath, the proxy would also have taken the reply the datapath waited for.
 */
final class UpstreamHandler extends SimpleChannelInboundHandler<DatagramPacket> {
    /** Takes a datagram that is the answer (true), or leaves it (false: the socket waits on). */
    interface Answer {
        boolean take(DatagramPacket p);
    }

    private final Answer answer;
    private final Consumer<Throwable> errors;
    private boolean answered;

    UpstreamHandler(Answer answer, Consumer<Throwable> errors) {
        this.answer = answer;
        this.errors = errors;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
        if (answered) return; // a second copy read in the same batch
        if (answer.take(p)) {
            answered = true;
            ctx.channel().eventLoop().execute(ctx::close); // after the read loop, not inside it
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        errors.accept(cause); // the socket stays until its answer or its timeout, which counts it
    }
}
