package io.septum.apiserver.testing;

import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowStats;
import io.septum.api.flow.FlowSubscription;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A flow store in memory for tests that serve flows (the REST API's, the peer flow server's, the web UI's): it
 * answers queries and follows with the real {@link FlowFilter}, and keeps what it was asked so tests can check it.
 * Shared with other modules' tests through this module's test jar.
 */
public class FakeFlowObserver implements FlowObserver {
    /** Every flow published, oldest first. */
    public final List<Flow> flows = new CopyOnWriteArrayList<>();
    /** One queue per open follow; it is removed when the follow is closed. */
    public final List<BlockingQueue<Flow>> followers = new CopyOnWriteArrayList<>();
    /** The filter of every query, in order. */
    public final List<FlowFilter> filters = new CopyOnWriteArrayList<>();

    @Override
    public List<Flow> query(FlowFilter filter, int last) {
        filters.add(filter);
        List<Flow> out = new ArrayList<>(flows.stream().filter(filter::matches).toList());
        return last > 0 && out.size() > last ? out.subList(out.size() - last, out.size()) : out;
    }

    @Override
    public FlowSubscription follow(FlowFilter filter) {
        BlockingQueue<Flow> q = new ArrayBlockingQueue<>(100);
        followers.add(q);
        return new FlowSubscription() {
            @Override
            public Flow poll(long timeout, TimeUnit unit) throws InterruptedException {
                Flow f;
                while ((f = q.poll(timeout, unit)) != null) if (filter.matches(f)) return f;
                return null;
            }

            @Override
            public long dropped() {
                return 0;
            }

            @Override
            public void close() {
                followers.remove(q);
            }
        };
    }

    /** Stores {@code f} and hands it to every open follow. */
    public void publish(Flow f) {
        flows.add(f);
        followers.forEach(q -> q.offer(f));
    }

    /** Fixed figures besides the flow count, which the API server's status test checks. */
    @Override
    public FlowStats stats() {
        return new FlowStats(flows.size(), 8192, 0.5, flows.size(), 3, 1, 1024, 64 << 20, null);
    }
}
