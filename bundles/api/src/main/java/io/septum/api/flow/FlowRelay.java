package io.septum.api.flow;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.osgi.annotation.versioning.ConsumerType;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Every node's flows, merged by time: what {@code septum observe --cluster} shows, whichever front end asks (the
 * REST API's {@code /v1/flows?cluster=true}, the shell's {@code observe --cluster}, the web UI's cluster toggle). This
 * node's agent is the relay: it reads its own observer and every other node's peer flow service, and reports a node
 * it cannot read in the stream instead of failing. Standalone, it streams this node's flows.
 */
@ProviderType
public interface FlowRelay {
    /** Where the merged stream goes; called on the streaming thread only. */
    @ConsumerType
    interface Sink {
        void flow(Flow f) throws IOException;

        /** A node that cannot be read, is read again, or lost flows on the way. */
        void status(FlowNodeStatus s) throws IOException;

        /** Nothing to send for a while: a stream can notice that its reader left. */
        void idle() throws IOException;

        /** False once the reader left: the stream ends. */
        boolean open();
    }

    /**
     * Streams into {@code sink} until the answer is complete (without {@code follow}: every node's answer, sorted, the
     * newest {@code last} of them all) or, with {@code follow}, until the sink closes or the thread is interrupted.
     *
     * @param query the flow parameters as {@link FlowQuery#parse} reads them ({@code last} defaults to 0: every flow),
     *              passed on to the other nodes as they are
     * @throws IllegalArgumentException an unknown parameter or a bad value, named as {@link FlowQuery} names it
     * @throws IllegalStateException    this node's flow observer is not running
     */
    void stream(Map<String, List<String>> query, boolean follow, Sink sink) throws IOException;
}
