package io.septum.proxy.common;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A heartbeat on every event loop of a proxy: a loop whose beat stops is stuck (a handler blocking in a call that
 * does not return), and the proxy's status says so with the thread and where it is, instead of "ok" while nothing
 * is answered. Each beat is a task scheduled once a second; reading the beats costs nothing.
 */
public final class EventLoopWatch {
    /** How long a loop may go without its beat before it counts as stuck. */
    public static final long STUCK_MILLIS = 5_000;

    private final List<Beat> beats = new CopyOnWriteArrayList<>();

    private static final class Beat {
        volatile long lastNanos = System.nanoTime();
        volatile Thread thread;
    }

    /** Starts a beat on each loop of {@code group}; the beats end with the group. */
    public void watch(EventLoopGroup group) {
        for (EventExecutor loop : group) {
            Beat b = new Beat();
            beats.add(b);
            loop.scheduleAtFixedRate(() -> {
                b.thread = Thread.currentThread();
                b.lastNanos = System.nanoTime();
            }, 0, 1, TimeUnit.SECONDS);
        }
    }

    /** Forgets the beats of loops that were shut down (a restarted proxy watches its new ones). */
    public void clear() {
        beats.clear();
    }

    /** The first loop without a beat for longer than {@code limitMillis}, with where its thread is, or null. */
    public String stuck(long limitMillis) {
        long now = System.nanoTime();
        for (Beat b : beats) {
            long silent = TimeUnit.NANOSECONDS.toMillis(now - b.lastNanos);
            if (silent <= limitMillis) continue;
            Thread t = b.thread;
            StackTraceElement[] stack = t == null ? new StackTraceElement[0] : t.getStackTrace();
            return "event loop " + (t == null ? "(not started)" : t.getName()) + " has not run its tasks for "
                    + silent / 1000 + " s" + (stack.length == 0 ? "" : " (in " + stack[0] + ")");
        }
        return null;
    }
}
