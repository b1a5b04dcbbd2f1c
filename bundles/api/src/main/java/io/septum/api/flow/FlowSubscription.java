package io.septum.api.flow;

import java.util.concurrent.TimeUnit;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A live feed of flows matching a filter, with its own bounded queue: a reader that does not keep up loses
 * flows (counted in {@link #dropped()}) and never slows the observer. Close it when done.
 */
@ProviderType
public interface FlowSubscription extends AutoCloseable {
    /** The next flow, or null when none came within the timeout. */
    Flow poll(long timeout, TimeUnit unit) throws InterruptedException;

    /** Flows this subscriber lost because its queue was full. */
    long dropped();

    @Override
    void close();
}
