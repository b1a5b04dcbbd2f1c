package io.septum.api.flow;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Whiteboard: flows seen outside the datapath's ring buffer, such as the L7 proxy's HTTP requests and responses
 * ({@link Flow#TYPE_L7}), are handed to every registered sink. The observer stores them with the datapath's flows;
 * the API server streams them to {@code monitor} clients. Called on the producer's I/O thread: never block.
 */
@ConsumerType
public interface FlowSink {
    void accept(Flow flow);
}
