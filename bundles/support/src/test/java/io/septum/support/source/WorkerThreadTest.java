package io.septum.support.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WorkerThreadTest {
    private final WorkerThread worker = new WorkerThread("septum-test-worker");

    @AfterEach
    void stop() {
        worker.stopNow(Duration.ofSeconds(5));
    }

    @Test
    void runsTasksInOrderOnOneNamedDaemonThread() throws Exception {
        assertTrue(worker.start());
        assertFalse(worker.start(), "already running");
        List<String> seen = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(3);
        for (int i = 0; i < 3; i++) {
            int n = i;
            assertTrue(worker.execute(() -> {
                seen.add(n + "@" + Thread.currentThread().getName() + "/" + Thread.currentThread().isDaemon());
                done.countDown();
            }));
        }
        assertTrue(done.await(5, TimeUnit.SECONDS));
        assertEquals(List.of("0@septum-test-worker/true", "1@septum-test-worker/true", "2@septum-test-worker/true"), seen);
    }

    @Test
    void dropsTasksWhileStopped() {
        assertFalse(worker.running());
        assertFalse(worker.execute(() -> { }));
        assertNull(worker.schedule(() -> { }, Duration.ZERO));
        assertNull(worker.scheduleWithFixedDelay(() -> { }, Duration.ZERO, Duration.ofSeconds(1)));
        assertFalse(worker.stopNow(Duration.ZERO), "not running: nothing to stop");
        assertFalse(worker.stop(() -> { }, Duration.ZERO, e -> { }));
    }

    @Test
    void stopRunsTheLastTaskAfterTheQueuedOnesAndThenNothingElse() throws Exception {
        worker.start();
        CountDownLatch release = new CountDownLatch(1);
        List<String> seen = new CopyOnWriteArrayList<>();
        worker.execute(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            seen.add("queued");
        });
        Thread closer = new Thread(() -> worker.stop(() -> seen.add("last"), Duration.ofSeconds(5),
                e -> seen.add("failed " + e)));
        closer.start();
        // stop() detaches first: a task handed in while it waits is dropped.
        while (worker.running()) Thread.onSpinWait();
        assertFalse(worker.execute(() -> seen.add("late")));
        release.countDown();
        closer.join(10_000);
        assertEquals(List.of("queued", "last"), seen);
        assertFalse(worker.running());
    }

    @Test
    void aLastTaskThatHangsIsReportedAndInterrupted() throws Exception {
        worker.start();
        CountDownLatch interrupted = new CountDownLatch(1);
        AtomicReference<Exception> failure = new AtomicReference<>();
        boolean stopped = worker.stop(() -> {
            try {
                new CountDownLatch(1).await();
            } catch (InterruptedException e) {
                interrupted.countDown();
            }
        }, Duration.ofMillis(50), failure::set);
        assertTrue(stopped);
        assertTrue(failure.get() instanceof TimeoutException, "failure: " + failure.get());
        assertTrue(interrupted.await(5, TimeUnit.SECONDS), "the hanging task was interrupted");
    }

    @Test
    void stopNowInterruptsTheRunningTaskAndCanStartAgain() throws Exception {
        worker.start();
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        worker.execute(() -> {
            running.countDown();
            try {
                new CountDownLatch(1).await();
            } catch (InterruptedException e) {
                interrupted.countDown();
            }
        });
        assertTrue(running.await(5, TimeUnit.SECONDS));
        assertTrue(worker.stopNow(Duration.ofSeconds(5)));
        assertTrue(interrupted.await(0, TimeUnit.SECONDS), "stopNow waited for the interrupted task");
        assertTrue(worker.start(), "a stopped worker starts afresh");
        CountDownLatch ran = new CountDownLatch(1);
        worker.execute(ran::countDown);
        assertTrue(ran.await(5, TimeUnit.SECONDS));
    }

    @Test
    void scheduledTasksRunAfterTheirWait() throws Exception {
        worker.start();
        CountDownLatch once = new CountDownLatch(1);
        CountDownLatch repeated = new CountDownLatch(3);
        long t0 = System.nanoTime();
        worker.schedule(once::countDown, Duration.ofMillis(100));
        worker.scheduleWithFixedDelay(repeated::countDown, Duration.ZERO, Duration.ofMillis(10));
        assertTrue(once.await(5, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(100), "not before its wait");
        assertTrue(repeated.await(5, TimeUnit.SECONDS));
    }
}
