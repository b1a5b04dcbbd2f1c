package io.septum.proxy.common;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.channel.DefaultEventLoopGroup;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** A loop blocked in a task shows as stuck, with its thread and frame; once it runs again, it is not. */
class EventLoopWatchTest {
    @Test
    void aBlockedLoopIsStuckUntilItRunsAgain() throws Exception {
        DefaultEventLoopGroup group = new DefaultEventLoopGroup(2, (java.util.concurrent.ThreadFactory) r -> new Thread(r, "sept-watch-test"));
        CountDownLatch release = new CountDownLatch(1);
        try {
            EventLoopWatch watch = new EventLoopWatch();
            watch.watch(group);
            assertNull(watch.stuck(1_500), "a loop just watched is not stuck");
            group.next().execute(() -> {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            String stuck = await(() -> watch.stuck(1_500));
            assertTrue(stuck.startsWith("event loop sept-watch-test has not run its tasks for "), stuck);
            assertTrue(stuck.contains("CountDownLatch") || stuck.contains("Unsafe.park"), "where it waits: " + stuck);
            release.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (watch.stuck(1_500) != null) {
                if (System.nanoTime() > deadline) fail("still stuck after release: " + watch.stuck(1_500));
                Thread.sleep(50);
            }
        } finally {
            release.countDown();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static String await(Supplier<String> s) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            String v = s.get();
            if (v != null) return v;
            if (System.nanoTime() > deadline) fail("never stuck");
            Thread.sleep(50);
        }
    }
}
