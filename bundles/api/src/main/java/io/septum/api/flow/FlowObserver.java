package io.septum.api.flow;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The agent's flow store: every datapath event as an enriched {@link Flow}, in a bounded in-memory ring backed
 * by an on-disk log that survives restarts.
 */
@ProviderType
public interface FlowObserver {
    /**
     * The last {@code last} flows that match, oldest first ({@code last <= 0}: every one). Searches the on-disk
     * log as well when the filter's {@code since} goes back before the ring's oldest flow.
     */
    List<Flow> query(FlowFilter filter, int last);

    /** Flows observed from now on that match, until the subscription is closed. */
    FlowSubscription follow(FlowFilter filter);

    FlowStats stats();
}
