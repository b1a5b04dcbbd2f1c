package io.septum.apiserver.internal;

import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowNodeStatus;
import io.septum.api.flow.FlowQuery;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/** Every node's flows, merged: what {@code GET /v1/flows?cluster=true} streams. */
public interface FlowRelay {
    /** Where the merged stream goes; called on the requesting thread only. */
    interface Sink {
        void flow(Flow f) throws IOException;

        void status(FlowNodeStatus s) throws IOException;

        /** Nothing to send for a while: a heartbeat lets the stream notice a client that left. */
        void idle() throws IOException;

        boolean open();
    }

    /**
     * Streams into {@code sink} until the answer is complete (without {@code follow}) or the sink closes.
     *
     * @param query the flow parameters as received (without {@code cluster} and {@code follow}): passed on to peers
     * @param q     the same, parsed (and so validated)
     */
    void stream(Map<String, List<String>> query, FlowQuery q, boolean follow, Sink sink) throws IOException;
}
