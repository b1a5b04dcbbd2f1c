package io.septum.apiserver.internal;

import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Fans datapath events out to monitor clients. Each subscriber has its own bounded queue: the datapath's reader
 * thread only offers, never waits, so a slow client loses its own events (counted) and never slows the others
 * or the datapath.
 */
public final class MonitorHub {
    private final Set<Subscriber> subscribers = ConcurrentHashMap.newKeySet();
    private final int queueSize;
    private final int maxSubscribers;
    private final LongAdder delivered = new LongAdder();
    private final LongAdder dropped = new LongAdder();

    public MonitorHub(int queueSize, int maxSubscribers) {
        this.queueSize = queueSize;
        this.maxSubscribers = maxSubscribers;
    }

    /** Called on the datapath's thread (or the L7 proxy's, with a {@code Flow}): must return at once. */
    public void publish(Object event) {
        for (Subscriber s : subscribers) {
            if (s.queue.offer(event)) {
                delivered.increment();
            } else {
                s.dropped.increment();
                dropped.increment();
            }
        }
    }

    public Subscriber subscribe() {
        synchronized (subscribers) {
            if (subscribers.size() >= maxSubscribers) {
                throw new HttpException(503, "too many monitor clients (" + maxSubscribers + "); close one and retry");
            }
            Subscriber s = new Subscriber();
            subscribers.add(s);
            return s;
        }
    }

    public int subscribers() {
        return subscribers.size();
    }

    public long dropped() {
        return dropped.sum();
    }

    public long delivered() {
        return delivered.sum();
    }

    /** One monitor client's queue. */
    public final class Subscriber implements AutoCloseable {
        private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(queueSize);
        private final LongAdder dropped = new LongAdder();

        /** A DatapathEvent, or an L7 Flow from the proxy. */
        public Object poll(long timeout, TimeUnit unit) throws InterruptedException {
            return queue.poll(timeout, unit);
        }

        /** Events lost because this client did not keep up. */
        public long dropped() {
            return dropped.sum();
        }

        @Override
        public void close() {
            subscribers.remove(this);
        }
    }
}
