package io.septum.testsupport;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * Events a test collects from a reader thread (the datapath's ring buffer, for example), with a wall-clock cut-off:
 * after {@link #forget()} the reader may still hand over events of earlier packets, and those are skipped by their
 * time, so a test never asserts on what the one before it caused.
 */
public final class EventLog<E> implements Consumer<E> {
    private final List<E> events = new CopyOnWriteArrayList<>();
    private final ToLongFunction<E> wallNanos;
    private volatile long sinceNanos = Long.MIN_VALUE;

    /** @param wallNanos the event's time in nanoseconds since the epoch */
    public EventLog(ToLongFunction<E> wallNanos) {
        this.wallNanos = wallNanos;
    }

    @Override
    public void accept(E event) {
        events.add(event);
    }

    /** Forgets everything so far, and anything older than now that arrives later. */
    public void forget() {
        events.clear();
        Instant now = Instant.now();
        sinceNanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** The events since the last {@link #forget()}, in arrival order. */
    public List<E> current() {
        List<E> out = new ArrayList<>();
        for (E e : events) if (wallNanos.applyAsLong(e) >= sinceNanos) out.add(e);
        return out;
    }

    /** The first current event that matches, waiting up to ten seconds for it; fails the test with what did come. */
    public E await(String what, Predicate<E> p) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < end) {
            for (E e : current()) if (p.test(e)) return e;
            TimeUnit.MILLISECONDS.sleep(10); // poll interval, not a wait for a condition
        }
        throw new AssertionError("no event: " + what + "; got " + current());
    }

    @Override
    public String toString() {
        return current().toString();
    }
}
