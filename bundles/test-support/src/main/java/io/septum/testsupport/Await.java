package io.septum.testsupport;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waiting in a test for something another thread does (a source reporting, a watch delivering): the condition is
 * asked again every few milliseconds until it holds or the time is up, so a test waits no longer than it must and
 * never sleeps a fixed time.
 */
public final class Await {
    private static final long POLL_MILLIS = 20;

    private Await() {
    }

    /** Returns once {@code condition} holds; fails the test naming {@code what} when it still does not after {@code timeout}. */
    public static void until(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        if (!within(timeout, condition)) {
            throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for: " + what);
        }
    }

    /** Whether {@code condition} holds within {@code timeout}, for a test that words the failure itself. */
    public static boolean within(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (condition.getAsBoolean()) return true;
            Thread.sleep(POLL_MILLIS); // poll interval, not a wait for the condition
        }
        return condition.getAsBoolean();
    }
}
