package io.septum.apiserver.internal;

import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowQuery;
import io.septum.api.flow.FlowSubscription;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * This agent's flows for a follow query: the last {@code last} matching ones, then each new one. It subscribes
 * before it reads the backlog, so that a flow stored between the two is seen twice rather than lost, and drops that
 * second sighting. The unix socket's {@code follow=true}, the peer flow service and the relay's own node read it.
 */
final class LocalFeed implements AutoCloseable {
    private final FlowSubscription sub;
    private final List<Flow> backlog;
    private final long newest;

    LocalFeed(FlowObserver observer, FlowQuery q) {
        sub = observer.follow(q.filter());
        try {
            backlog = q.last() > 0 ? observer.query(q.filter(), q.last()) : List.of();
        } catch (RuntimeException e) {
            sub.close(); // nobody would drain its queue
            throw e;
        }
        newest = backlog.stream().mapToLong(Flow::timeNanos).max().orElse(Long.MIN_VALUE);
    }

    List<Flow> backlog() {
        return backlog;
    }

    /** The next new flow, or null when none came within the timeout. */
    Flow next(long timeoutMillis) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (true) {
            long left = end - System.nanoTime();
            if (left <= 0) return null;
            Flow f = sub.poll(left, TimeUnit.NANOSECONDS);
            if (f == null) return null;
            if (f.timeNanos() > newest || backlog.isEmpty() || !backlog.contains(f)) return f;
        }
    }

    @Override
    public void close() {
        sub.close();
    }
}
