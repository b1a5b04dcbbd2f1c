package io.septum.api.flow;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What a cluster-wide flow stream ({@code septum observe --cluster}) says about a node instead of its flows: that
 * it cannot be reached (and why), that it is reachable again, or that some of its flows were lost on the way. It travels in the stream as one line
 * {@code {"node_status": {...}}}, between flows, so that one node's failure never stops the others' flows.
 *
 * @param nodeName the node
 * @param state    {@link #UNREACHABLE}, {@link #NO_PEER_SERVICE}, {@link #CONNECTED} or {@link #FLOWS_LOST}
 * @param message  the reason, as precise as the failure was (address, TLS error, HTTP status)
 * @param time     when the relay saw it, RFC 3339
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record FlowNodeStatus(@JsonProperty("node_name") String nodeName, @JsonProperty("state") String state,
                             @JsonProperty("message") String message, @JsonProperty("time") String time) {
    /** The node's flows cannot be read: connection refused, TLS refused, a timeout, an error answer. */
    public static final String UNREACHABLE = "unreachable";
    /** The node's registration names no peer flow service ({@code peerPort} unset there, or an older agent). */
    public static final String NO_PEER_SERVICE = "no-peer-service";
    /** The node's flows come again after it was reported unreachable. */
    public static final String CONNECTED = "connected";
    /** Some of the node's flows were dropped on their way: the stream's reader did not keep up (the count says how many). */
    public static final String FLOWS_LOST = "flows-lost";
    /** The key of the line that carries a status: {@code {"node_status": {...}}}. */
    public static final String KEY = "node_status";
}
