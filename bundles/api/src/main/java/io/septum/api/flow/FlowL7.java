package io.septum.api.flow;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The L7 part of a flow from a proxy: {@code type} is {@code REQUEST} or {@code RESPONSE}, {@code latency_ns}
 * the time from request to response (0 on a request); {@code http} from the HTTP proxy, {@code dns} from the DNS
 * proxy (since 1.7).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record FlowL7(
        @JsonProperty("type") String type,
        @JsonProperty("latency_ns") long latencyNs,
        @JsonProperty("http") FlowHttp http,
        @JsonProperty("dns") FlowDns dns) {
    /** An HTTP request or response. */
    public FlowL7(String type, long latencyNs, FlowHttp http) {
        this(type, latencyNs, http, null);
    }
}
