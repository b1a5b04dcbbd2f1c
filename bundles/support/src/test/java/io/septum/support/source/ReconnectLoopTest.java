package io.septum.support.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ReconnectLoopTest {
    private final WorkerThread worker = new WorkerThread("septum-test-reconnect");
    private final ReconnectLoop loop = new ReconnectLoop(worker, new Backoff(Duration.ofMillis(20), Duration.ofMillis(80)));

    @AfterEach
    void stop() {
        worker.stopNow(Duration.ofSeconds(5));
    }

    /** Runs {@code c} on the worker thread and waits for its result, as the sources call the loop there. */
    private <T> T onWorker(Callable<T> c) throws Exception {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Exception> failure = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        worker.execute(() -> {
            try {
                result.set(c.call());
            } catch (Exception e) {
                failure.set(e);
            } finally {
                done.countDown();
            }
        });
        assertTrue(done.await(5, TimeUnit.SECONDS));
        if (failure.get() != null) throw failure.get();
        return result.get();
    }

    @Test
    void callbacksOfAStaleAttemptAreIgnored() throws Exception {
        worker.start();
        List<String> seen = new CopyOnWriteArrayList<>();
        long first = onWorker(loop::newAttempt);
        loop.submit(first, () -> seen.add("first, current"));
        long second = onWorker(loop::newAttempt);
        loop.submit(first, () -> seen.add("first, stale"));
        loop.submit(second, () -> seen.add("second, current"));
        onWorker(() -> {
            loop.invalidate();
            return null;
        });
        loop.submit(second, () -> seen.add("second, invalidated"));
        onWorker(() -> null); // everything submitted before has run
        assertEquals(List.of("first, current", "second, current"), seen);
    }

    @Test
    void retriesWithAGrowingWaitThatAConnectionResets() throws Exception {
        worker.start();
        CountDownLatch attempts = new CountDownLatch(2);
        List<Duration> waits = new CopyOnWriteArrayList<>();
        long t0 = System.nanoTime();
        Runnable attempt = new Runnable() {
            @Override
            public void run() {
                attempts.countDown();
                if (attempts.getCount() > 0) waits.add(loop.retryLater(this));
            }
        };
        // recorded on the worker, before the retry it schedules can run there: the order of the waits is theirs
        onWorker(() -> {
            Duration first = loop.retryLater(attempt);
            waits.add(first);
            return first;
        });
        assertTrue(attempts.await(5, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(20 + 40), "each retry waits its backoff");
        assertEquals(List.of(Duration.ofMillis(20), Duration.ofMillis(40)), waits);
        onWorker(() -> {
            loop.connected();
            return null;
        });
        assertEquals(Duration.ofMillis(20), onWorker(() -> loop.retryLater(() -> { })));
    }

    @Test
    void aRetryLaterMakesTheLostConnectionsCallbacksStale() throws Exception {
        worker.start();
        List<String> seen = new CopyOnWriteArrayList<>();
        long attempt = onWorker(loop::newAttempt);
        onWorker(() -> loop.retryLater(() -> { }));
        loop.submit(attempt, () -> seen.add("stale"));
        onWorker(() -> null);
        assertEquals(List.of(), seen);
    }
}
