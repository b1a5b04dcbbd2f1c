package io.septum.api.flow;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The L7 part of a flow from the proxy: {@code type} is {@code REQUEST} or {@code RESPONSE}, {@code latency_ns}
 * the time from request to response (0 on a request).
 */
public record FlowL7(
        @JsonProperty("type") String type,
        @JsonProperty("latency_ns") long latencyNs,
        @JsonProperty("http") FlowHttp http) {
}
