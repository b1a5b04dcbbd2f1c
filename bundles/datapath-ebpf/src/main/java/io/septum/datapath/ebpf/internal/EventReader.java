package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathEvent;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import jnr.ffi.Pointer;

/**
 * A thread that polls the {@code septum_events} ring buffer and hands each decoded event on. A ring buffer reopened
 * from its pin also delivers what was produced while no agent ran (up to its size).
 *
 * <p>The kernel wakes a reader that waits in {@code epoll} for the first record it has not consumed: a reader that
 * keeps up is woken for nearly every event, and the wake-up costs more than the event (a context switch here, an
 * {@code irq_work} in the sending task there). While events come at {@link #BUSY_EVENTS_PER_SECOND} or more (over
 * the last {@link #BUSY_WINDOW_NANOS}), the reader therefore sleeps {@link #BATCH_PAUSE_NANOS} and then consumes what
 * has come without waiting ({@code ring_buffer__consume}): an event waits at most that much longer, and no event wakes
 * it. Below that rate it waits in {@code ring_buffer__poll} as before, so a trickle is delivered at once and an idle
 * agent sleeps.
 */
final class EventReader {
    private static final Logger LOG = Logger.getLogger(EventReader.class.getName());
    private static final int POLL_MS = 100;
    private static final int EINTR = 4;
    static final long BATCH_PAUSE_NANOS = 1_000_000L;
    static final long BUSY_WINDOW_NANOS = 100_000_000L;
    static final long BUSY_EVENTS_PER_SECOND = 2_000;

    private final LibBpf lib;
    private final int mapFd;
    private final EventDecoder decoder;
    private final Consumer<DatapathEvent> sink;
    private final String name;
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();
    /** Whether the reader collects once a millisecond (events stream) rather than waiting to be woken. */
    private volatile boolean streaming;
    /** Strongly referenced: libbpf calls it from ring_buffer__poll for as long as the ring buffer exists. */
    private final LibBpf.SampleFn callback;
    private volatile boolean running;
    private Thread thread;
    private Pointer rb;

    EventReader(LibBpf lib, int mapFd, EventDecoder decoder, Consumer<DatapathEvent> sink, String name) {
        this.lib = lib;
        this.mapFd = mapFd;
        this.decoder = decoder;
        this.sink = sink;
        this.name = name;
        this.callback = this::onSample;
    }

    private int onSample(Pointer ctx, Pointer data, long size) {
        if (size < decoder.size()) {
            malformed.incrementAndGet();
            return 0;
        }
        byte[] raw = new byte[decoder.size()];
        data.get(0, raw, 0, raw.length);
        try {
            sink.accept(decoder.decode(raw));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "dropping an event that could not be delivered", e);
        }
        return 0;
    }

    void start() throws io.septum.api.datapath.DatapathException {
        rb = lib.ring_buffer__new(mapFd, callback, null, null);
        if (rb == null) throw new io.septum.api.datapath.DatapathException("cannot open the events ring buffer");
        running = true;
        thread = new Thread(this::run, name);
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        long lastCalibration = System.nanoTime();
        long windowStart = lastCalibration;
        long windowEvents = 0;
        boolean busy = false;
        while (running) {
            int rc;
            if (busy) {
                LockSupport.parkNanos(BATCH_PAUSE_NANOS);
                if (Thread.interrupted()) return; // parkNanos would return at once from now on: a busy loop
                rc = lib.ring_buffer__consume(rb);
            } else {
                rc = lib.ring_buffer__poll(rb, POLL_MS);
            }
            if (rc > 0) {
                windowEvents += rc;
                batches.incrementAndGet();
            } else if (rc < 0 && rc != -EINTR) {
                LOG.warning("polling the events ring buffer failed: " + BpfErrors.errno(-rc));
                try {
                    Thread.sleep(POLL_MS); // back off instead of spinning on a persistent error
                } catch (InterruptedException e) {
                    return;
                }
            }
            long now = System.nanoTime();
            if (now - windowStart >= BUSY_WINDOW_NANOS) {
                busy = windowEvents >= BUSY_EVENTS_PER_SECOND * ((now - windowStart) / 1e9);
                streaming = busy;
                windowStart = now;
                windowEvents = 0;
            }
            if (now - lastCalibration > 10_000_000_000L) {
                decoder.calibrate();
                lastCalibration = now;
            }
        }
    }

    /** The polls and consumes that delivered at least one event: far fewer than the events while it is busy. */
    long batches() {
        return batches.get();
    }

    boolean streaming() {
        return streaming;
    }

    void stop() {
        running = false;
        if (thread != null) {
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (thread == null || !thread.isAlive()) {
            lib.ring_buffer__free(rb);
        }
        rb = null;
    }

    long malformed() {
        return malformed.get();
    }
}
