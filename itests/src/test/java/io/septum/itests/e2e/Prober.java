package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * Probes connections in a background thread, round after round, while a test changes the agent under them: each
 * round runs every probe in the order added, and an outcome other than the expected one is recorded with the phase
 * the test had set ({@code "<phase>: <what> dropped"} or {@code "... allowed"}).
 */
final class Prober {
    private record Probe(String what, boolean allowed, BooleanSupplier connects) {
    }

    private final List<Probe> probes = new ArrayList<>();
    private final List<String> wrong = Collections.synchronizedList(new ArrayList<>());
    private final AtomicReference<String> phase;
    private final AtomicBoolean probing = new AtomicBoolean(true);
    private final AtomicInteger rounds = new AtomicInteger();
    private final Thread thread;

    Prober(String threadName, String firstPhase) {
        phase = new AtomicReference<>(firstPhase);
        thread = new Thread(this::run, threadName);
    }

    /** {@code what} (for example "a -> b:80") must connect in every round. */
    Prober allows(String what, BooleanSupplier connects) {
        probes.add(new Probe(what, true, connects));
        return this;
    }

    /** {@code what} must never connect. */
    Prober denies(String what, BooleanSupplier connects) {
        probes.add(new Probe(what, false, connects));
        return this;
    }

    Prober start() {
        thread.start();
        return this;
    }

    private void run() {
        while (probing.get()) {
            String p = phase.get();
            for (Probe probe : probes) {
                if (probe.connects().getAsBoolean() != probe.allowed()) {
                    wrong.add(p + ": " + probe.what() + (probe.allowed() ? " dropped" : " allowed"));
                }
            }
            rounds.incrementAndGet();
        }
    }

    /** Names what the rounds from now on run during. */
    void phase(String p) {
        phase.set(p);
    }

    int rounds() {
        return rounds.get();
    }

    /** Waits (at most 30 s) until {@code more} rounds have run from now. */
    void awaitRounds(int more) {
        int target = rounds.get() + more;
        assertTrue(E2eSupport.await(Duration.ofSeconds(30), () -> rounds.get() >= target), "probe rounds progress");
    }

    /** Ends the rounds (the one under way finishes, for at most 10 s). */
    void stop() throws InterruptedException {
        probing.set(false);
        thread.join(10_000);
    }

    /** The wrong outcomes so far, one a line. */
    List<String> wrong() {
        return wrong;
    }
}
