package io.septum.support.source;

import java.time.Duration;

/**
 * Connect, and when the connection is lost, connect again after a {@link Backoff}, all on one {@link WorkerThread};
 * with a generation number so that callbacks of a connection that has since been lost or replaced are ignored
 * rather than acted on (an event stream's late "ended" must not tear down its successor).
 *
 * <p>The source calls {@link #newAttempt()} at the start of each connection attempt and hands that attempt's
 * callbacks to {@link #submit(long, Runnable)} with the number it got; {@link #retryLater(Runnable)} when the
 * attempt failed or the connection broke; {@link #connected()} when it is up. Everything but {@code submit} must be
 * called on the worker thread.
 *
 * <p>This package is embedded privately by each bundle that uses it ({@code -conditionalpackage}); it is not an API
 * and is never imported between bundles.
 */
public final class ReconnectLoop {
    private final WorkerThread thread;
    private final Backoff backoff;
    // Touched only on the worker thread.
    private long generation;

    public ReconnectLoop(WorkerThread thread, Backoff backoff) {
        this.thread = thread;
        this.backoff = backoff;
    }

    /** A connection attempt begins: callbacks of earlier ones are stale from now on. Returns its number. */
    public long newAttempt() {
        return ++generation;
    }

    /** Callbacks of the current connection are stale from now on (it was lost, or the source closes). */
    public void invalidate() {
        generation++;
    }

    /** Runs {@code task} on the worker thread unless the connection numbered {@code attempt} is stale by then. */
    public void submit(long attempt, Runnable task) {
        thread.execute(() -> {
            if (attempt == generation) task.run();
        });
    }

    /** The connection is up: the next loss waits the shortest backoff again. */
    public void connected() {
        backoff.reset();
    }

    /**
     * The attempt failed or the connection broke: its callbacks become stale and {@code attempt} runs again after
     * the backoff (unless the worker thread stopped meanwhile).
     *
     * @return the wait before that next attempt
     */
    public Duration retryLater(Runnable attempt) {
        invalidate();
        Duration wait = backoff.next();
        thread.schedule(attempt, wait);
        return wait;
    }
}
