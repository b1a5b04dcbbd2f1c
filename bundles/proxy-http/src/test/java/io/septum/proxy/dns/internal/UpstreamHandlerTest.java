package io.septum.proxy.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The forwarding socket on a real epoll event loop, over loopback: it is never read after it is closed. Netty's
 * datagram read loop reads on after a handler closes the channel; the read then fails with EBADF (a
 * ClosedChannelException in exceptionCaught), or, had the number been reused meanwhile, reads another socket.
 */
class UpstreamHandlerTest {
    private EpollEventLoopGroup group;
    private DatagramSocket server;

    @BeforeEach
    void setUp() throws Exception {
        group = new EpollEventLoopGroup(1);
        server = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    @AfterEach
    void tearDown() {
        server.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void theAnswerIsTakenOnceAndTheSocketIsNotReadAfterItCloses() throws Exception {
        AtomicInteger offered = new AtomicInteger(), taken = new AtomicInteger();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        Channel ch = new Bootstrap().group(group).channel(EpollDatagramChannel.class)
                .handler(new UpstreamHandler(p -> {
                    offered.incrementAndGet();
                    // the first datagram is no answer (the socket waits on), the second is
                    if (p.content().readableBytes() == 1) return false;
                    taken.incrementAndGet();
                    return true;
                }, errors::add))
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        InetSocketAddress to = (InetSocketAddress) ch.localAddress();

        // hold the event loop while the datagrams arrive, so that one read loop sees all of them
        CountDownLatch held = new CountDownLatch(1), release = new CountDownLatch(1);
        ch.eventLoop().execute(() -> {
            held.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(held.await(10, TimeUnit.SECONDS));
        server.send(new DatagramPacket(new byte[] {1}, 1, to));
        for (int i = 0; i < 2; i++) server.send(new DatagramPacket(new byte[] {2, 2}, 2, to));
        release.countDown();

        assertTrue(ch.closeFuture().await(10, TimeUnit.SECONDS), "the socket closes after its answer");
        // the loop is free and has run everything that was queued behind the close
        ch.eventLoop().submit(() -> { }).get(10, TimeUnit.SECONDS);
        assertEquals(1, taken.get(), "one answer taken; its copy ignored");
        assertEquals(2, offered.get(), "the copy is not offered");
        assertEquals(List.of(), errors, "the socket was read after it closed");
    }

    @Test
    void aLoneAnswerClosesTheSocketWithoutAFailedRead() throws Exception {
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        Channel ch = new Bootstrap().group(group).channel(EpollDatagramChannel.class)
                .handler(new UpstreamHandler(p -> true, errors::add))
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
        server.send(new DatagramPacket(new byte[] {7}, 1, ch.localAddress()));
        assertTrue(ch.closeFuture().await(10, TimeUnit.SECONDS));
        ch.eventLoop().submit(() -> { }).get(10, TimeUnit.SECONDS);
        assertEquals(List.of(), errors, "the socket was read after it closed");
    }
}
