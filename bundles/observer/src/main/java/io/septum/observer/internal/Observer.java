package io.septum.observer.internal;

import io.septum.api.datapath.DatapathEvent;
import io.septum.api.datapath.DatapathEventListener;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowSink;
import io.septum.api.flow.FlowStats;
import io.septum.api.flow.FlowSubscription;
import io.septum.support.thread.DaemonThreads;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * Events in, flows out. The datapath's reader thread only offers the event to a bounded queue (a full queue drops
 * it, counted), so enrichment never slows the datapath; one thread of the observer's own enriches, stores in the
 * ring, appends to the log, and hands the flow to followers. At start that thread first reloads the log's newest
 * flows into the ring, so that history survives a restart.
 */
class Observer implements DatapathEventListener, FlowObserver, FlowSink, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Observer.class.getName());
    private static final int RATE_WINDOW = 60;
    /**
     * While events come at {@link #BUSY_EVENTS_PER_SECOND} or more (over the last {@link #BUSY_WINDOW_NANOS}), the
     * worker sleeps {@link #BATCH_PAUSE_NANOS} when the queue is empty instead of waiting on it: a flow waits at most
     * that much longer, and a producer's offer wakes no thread. Below that rate (a trickle, or nothing) it waits on
     * the queue as before, and is woken by the next event: fewer wake-ups either way.
     */
    private static final long BATCH_PAUSE_NANOS = 1_000_000L;
    private static final long BUSY_WINDOW_NANOS = 100_000_000L;
    private static final long BUSY_EVENTS_PER_SECOND = 2_000;

    /** A query over the log without {@code last} answers at most this many flows (the newest), by default. */
    static final int LOG_QUERY_MAX_FLOWS = 20_000;

    /**
     * @param logDir           null when the flow log is off
     * @param logQueryMaxFlows the most flows a query over the log answers when it asks for every one ({@code last
     *                         <= 0}): the newest, so that one query cannot fill the heap
     */
    record Settings(int maxFlows, int queueSize, int followQueueSize, Path logDir, long logMaxBytes, long logSegmentBytes,
                    String nodeName, int logQueryMaxFlows) {
        Settings(int maxFlows, int queueSize, int followQueueSize, Path logDir, long logMaxBytes, long logSegmentBytes,
                 String nodeName) {
            this(maxFlows, queueSize, followQueueSize, logDir, logMaxBytes, logSegmentBytes, nodeName, LOG_QUERY_MAX_FLOWS);
        }
    }

    private final Settings settings;
    /** The name new flows carry: cluster mode's node name when there is one, else the configured or host name. */
    private volatile String nodeName;
    /** DatapathEvents to enrich, and Flows that come complete (the L7 proxy's). */
    private final BlockingQueue<Object> queue;
    private final FlowRing ring;
    private final FlowLog log;
    private final Set<Follower> followers = ConcurrentHashMap.newKeySet();
    private final LongAdder queueDropped = new LongAdder();
    private final LongAdder seen = new LongAdder();
    private final AtomicLongArray rateSecond = new AtomicLongArray(RATE_WINDOW);
    private final AtomicLongArray rateCount = new AtomicLongArray(RATE_WINDOW);
    private final CountDownLatch loaded = new CountDownLatch(1);
    private volatile Enricher enricher;
    private volatile LongSupplier lostEvents = () -> 0;
    private volatile boolean closed;
    private Thread worker;

    Observer(Settings settings) {
        this.settings = settings;
        this.queue = new ArrayBlockingQueue<>(settings.queueSize());
        this.ring = new FlowRing(settings.maxFlows());
        this.log = settings.logDir() == null ? null : new FlowLog(settings.logDir(), settings.logMaxBytes(), settings.logSegmentBytes());
    }

    final void setLookup(Enricher.Lookup lookup) {
        this.enricher = new Enricher(lookup, 1_000_000_000L);
    }

    final void setLostEvents(LongSupplier lost) {
        this.lostEvents = lost;
    }

    final void start() {
        worker = DaemonThreads.start("septum-observer", this::run);
    }

    /** On the datapath's reader thread: never waits. */
    @Override
    public void onEvent(DatapathEvent event) {
        if (closed || !queue.offer(event)) queueDropped.increment();
    }

    /** A complete flow from outside the datapath (the L7 proxy), on its I/O thread: never waits. */
    @Override
    public void accept(Flow flow) {
        if (closed || flow == null || !queue.offer(flow)) queueDropped.increment();
    }

    private void run() {
        try {
            if (log != null) {
                try {
                    List<Flow> old = log.loadTail(ring.capacity());
                    // flows logged before agents recorded their node were observed here all the same
                    old.forEach(f -> ring.add(f.nodeName() == null ? f.withNodeName(settings.nodeName()) : f));
                    LOG.log(System.Logger.Level.INFO, "flow observer: " + old.size() + " flow(s) reloaded from " + log.dir());
                } catch (IOException | RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "cannot reload flows from " + log.dir() + ": " + e.getMessage());
                }
            }
        } finally {
            loaded.countDown();
        }
        List<Object> batch = new ArrayList<>(256);
        long windowStart = System.nanoTime();
        long windowEvents = 0;
        boolean busy = false;
        while (!closed) {
            try {
                Object first = queue.poll();
                if (first == null) {
                    long now = System.nanoTime();
                    if (now - windowStart >= BUSY_WINDOW_NANOS) {
                        busy = windowEvents >= BUSY_EVENTS_PER_SECOND * ((now - windowStart) / 1e9);
                        windowStart = now;
                        windowEvents = 0;
                    }
                    if (busy) {
                        // collect for a moment instead of waiting on the queue, so that the producers (the ring
                        // buffer's reader, the proxies' I/O threads) need not wake this thread for each event
                        LockSupport.parkNanos(BATCH_PAUSE_NANOS);
                        if (Thread.interrupted()) break;
                        continue;
                    }
                    first = queue.poll(500, TimeUnit.MILLISECONDS);
                    if (first == null) continue;
                }
                batch.add(first);
                queue.drainTo(batch, 255);
                windowEvents += batch.size();
                for (Object e : batch) {
                    if (e instanceof Flow f) record(f);
                    else handle((DatapathEvent) e);
                }
                batch.clear();
                // flushed when the queue runs dry: a crash loses at most the flows of one burst
                if (log != null && queue.isEmpty()) log.flush();
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "flow observer: an event could not be handled", e);
                batch.clear();
            }
        }
        if (log != null) log.close();
    }

    /** The name new flows carry from now on; null goes back to the settings' name. */
    final void setNodeName(String name) {
        nodeName = name;
    }

    private void handle(DatapathEvent e) {
        Enricher en = enricher;
        if (en == null) return;
        String name = nodeName;
        // named as it is made: record() need not copy it to add the name
        record(en.enrich(e, name == null ? settings.nodeName() : name));
    }

    /** Stores a flow, with this node's name: ring, log, followers, rate. */
    final void record(Flow flow) {
        String name = nodeName;
        Flow f = flow.nodeName() == null ? flow.withNodeName(name == null ? settings.nodeName() : name) : flow;
        ring.add(f);
        if (log != null) log.append(f);
        seen.increment();
        long sec = System.currentTimeMillis() / 1000;
        int slot = (int) (sec % RATE_WINDOW);
        if (rateSecond.get(slot) != sec) {
            rateSecond.set(slot, sec);
            rateCount.set(slot, 0);
        }
        rateCount.incrementAndGet(slot);
        for (Follower fo : followers) fo.offer(f);
    }

    /** Waits until the log's flows are in the ring (queries before that would miss history). */
    final boolean awaitLoaded(long millis) {
        try {
            return loaded.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public List<Flow> query(FlowFilter filter, int last) {
        FlowFilter f = filter == null ? FlowFilter.ALL : filter;
        awaitLoaded(5_000);
        if (log != null && f.since() != null && f.since() < ring.oldestNanos() && ring.size() >= ring.capacity()) {
            // the ring is full and starts after 'since': older flows are only on disk
            // never fewer than the ring would have answered
            int cap = Math.max(settings.logQueryMaxFlows(), ring.capacity());
            try {
                List<Flow> flows = log.query(f, last > 0 ? last : cap);
                if (last <= 0 && flows.size() >= cap) {
                    LOG.log(System.Logger.Level.INFO, "flow query over the log: answered the newest " + cap
                            + " matching flows only (logQueryMaxFlows); older ones may match too");
                }
                return flows;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the flow log in " + log.dir() + ": " + e.getMessage(), e);
            }
        }
        return ring.query(f, last);
    }

    @Override
    public FlowSubscription follow(FlowFilter filter) {
        Follower fo = new Follower(filter == null ? FlowFilter.ALL : filter);
        followers.add(fo);
        return fo;
    }

    @Override
    public FlowStats stats() {
        long lost;
        try {
            lost = lostEvents.getAsLong();
        } catch (RuntimeException e) {
            lost = 0;
        }
        return new FlowStats(ring.size(), ring.capacity(), rate(), seen.sum(), lost, queueDropped.sum(),
                log == null ? 0 : log.totalBytes(), log == null ? 0 : log.maxBytes(), log == null ? null : log.error());
    }

    /** Flows per second over the last full minute (the current, partial second left out). */
    double rate() {
        long now = System.currentTimeMillis() / 1000;
        long total = 0;
        for (int i = 0; i < RATE_WINDOW; i++) {
            long s = rateSecond.get(i);
            if (s < now && s >= now - (RATE_WINDOW - 1)) total += rateCount.get(i);
        }
        return total / (double) (RATE_WINDOW - 1);
    }

    int followers() {
        return followers.size();
    }

    @Override
    public void close() {
        closed = true;
        followers.clear();
        Thread w = worker;
        if (w != null) {
            // no interrupt first: it would close the log's file channel under a write; the loop polls every 500 ms
            try {
                w.join(2_000);
                if (w.isAlive()) w.interrupt();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else if (log != null) {
            log.close();
        }
    }

    private final class Follower implements FlowSubscription {
        private final FlowFilter filter;
        private final BlockingQueue<Flow> flows = new ArrayBlockingQueue<>(settings.followQueueSize());
        private final LongAdder dropped = new LongAdder();

        Follower(FlowFilter filter) {
            this.filter = filter;
        }

        void offer(Flow f) {
            if (filter.matches(f) && !flows.offer(f)) dropped.increment();
        }

        @Override
        public Flow poll(long timeout, TimeUnit unit) throws InterruptedException {
            return flows.poll(timeout, unit);
        }

        @Override
        public long dropped() {
            return dropped.sum();
        }

        @Override
        public void close() {
            followers.remove(this);
        }
    }
}
