package io.septum.support.source;

import java.time.Duration;
import java.util.Objects;

/**
 * The wait before the next attempt to reach something that failed (an engine, a daemon, a child process): it starts
 * at {@code first}, doubles after each attempt, never exceeds {@code max}, and starts over at {@code first} once an
 * attempt succeeds ({@link #reset()}). Not thread-safe: a source uses it on its one thread.
 *
 * <p>This package is embedded privately by each bundle that uses it ({@code -conditionalpackage}); it is not an API
 * and is never imported between bundles.
 */
public final class Backoff {
    private final Duration first;
    private final Duration max;
    private Duration next;

    public Backoff(Duration first, Duration max) {
        this.first = Objects.requireNonNull(first, "first");
        this.max = Objects.requireNonNull(max, "max");
        if (first.isNegative() || first.isZero()) throw new IllegalArgumentException("first must be positive: " + first);
        if (max.compareTo(first) < 0) throw new IllegalArgumentException("max " + max + " is below first " + first);
        this.next = first;
    }

    /** The wait before this attempt; the one after it is twice as long, up to {@code max}. */
    public Duration next() {
        Duration wait = next;
        Duration doubled = next.multipliedBy(2);
        next = doubled.compareTo(max) > 0 ? max : doubled;
        return wait;
    }

    /** An attempt succeeded (or ran long enough): the next failure waits {@code first} again. */
    public void reset() {
        next = first;
    }
}
