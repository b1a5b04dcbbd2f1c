package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathEvent;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import jnr.ffi.Pointer;

/**
 * A thread that polls the {@code septum_events} ring buffer and hands each decoded event on. A ring buffer reopened
 * from its pin also delivers what was produced while no agent ran (up to its size).
 */
final class EventReader {
    private static final Logger LOG = Logger.getLogger(EventReader.class.getName());
    private static final int POLL_MS = 100;
    private static final int EINTR = 4;

    private final LibBpf lib;
    private final int mapFd;
    private final EventDecoder decoder;
    private final Consumer<DatapathEvent> sink;
    private final String name;
    private final AtomicLong malformed = new AtomicLong();
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
        while (running) {
            int rc = lib.ring_buffer__poll(rb, POLL_MS);
            if (rc < 0 && rc != -EINTR) {
                LOG.warning("polling the events ring buffer failed: " + BpfErrors.errno(-rc));
                try {
                    Thread.sleep(POLL_MS); // back off instead of spinning on a persistent error
                } catch (InterruptedException e) {
                    return;
                }
            }
            if (System.nanoTime() - lastCalibration > 10_000_000_000L) {
                decoder.calibrate();
                lastCalibration = System.nanoTime();
            }
        }
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
