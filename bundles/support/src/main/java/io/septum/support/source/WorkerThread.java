package io.septum.support.source;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The one daemon thread an endpoint source (or any component that keeps its state on one thread) does all its work
 * on, from {@link #start()} to {@link #stop}: tasks handed in while it is stopped, or while it stops, are dropped
 * without a word, because a component that is closing has nothing more to report. It can be started again after it
 * stopped; each start is a fresh thread, and tasks of the previous one are never run.
 *
 * <p>This package is embedded privately by each bundle that uses it ({@code -conditionalpackage}); it is not an API
 * and is never imported between bundles.
 */
public final class WorkerThread {
    private final String name;
    private final Object lock = new Object();
    private ScheduledExecutorService executor;

    /** @param name the thread's name, as thread dumps show it ({@code septum-source-docker}) */
    public WorkerThread(String name) {
        this.name = name;
    }

    /** Starts the thread; false (and nothing changes) when it runs already. */
    public boolean start() {
        synchronized (lock) {
            if (executor != null) return false;
            executor = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            });
            return true;
        }
    }

    /** Whether it was started and not stopped since. */
    public boolean running() {
        synchronized (lock) {
            return executor != null;
        }
    }

    /** Runs {@code task} on the thread soon; false when it was dropped (stopped or stopping). */
    public boolean execute(Runnable task) {
        synchronized (lock) {
            if (executor == null) return false;
            try {
                executor.execute(task);
                return true;
            } catch (RejectedExecutionException e) {
                return false;
            }
        }
    }

    /** Runs {@code task} on the thread after {@code wait}; null when it was dropped (stopped or stopping). */
    public ScheduledFuture<?> schedule(Runnable task, Duration wait) {
        synchronized (lock) {
            if (executor == null) return null;
            try {
                return executor.schedule(task, wait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                return null;
            }
        }
    }

    /**
     * Runs {@code task} on the thread after {@code first}, then {@code delay} after each run ends, until it stops or
     * the returned future is cancelled; null when it was dropped (stopped or stopping).
     */
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable task, Duration first, Duration delay) {
        synchronized (lock) {
            if (executor == null) return null;
            try {
                return executor.scheduleWithFixedDelay(task, first.toMillis(), delay.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                return null;
            }
        }
    }

    /**
     * Stops after one last task: nothing handed in from now on runs, {@code last} runs after the tasks already queued
     * (so it sees the state they left) and is waited for at most {@code wait}, then the thread is interrupted. When
     * {@code last} fails or takes longer, {@code failed} is told and the thread is interrupted all the same.
     *
     * @return false when it was not running (and nothing was done)
     */
    public boolean stop(Runnable last, Duration wait, Consumer<Exception> failed) {
        ScheduledExecutorService ex = detach();
        if (ex == null) return false;
        try {
            ex.submit(last).get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            failed.accept(e);
        } finally {
            ex.shutdownNow();
        }
        return true;
    }

    /**
     * Stops now: queued tasks are dropped, the one running is interrupted and waited for at most {@code wait} (a task
     * that ignores the interrupt may outlive this call).
     *
     * @return false when it was not running (and nothing was done)
     */
    public boolean stopNow(Duration wait) {
        ScheduledExecutorService ex = detach();
        if (ex == null) return false;
        ex.shutdownNow();
        try {
            ex.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    private ScheduledExecutorService detach() {
        synchronized (lock) {
            ScheduledExecutorService ex = executor;
            executor = null;
            return ex;
        }
    }
}
