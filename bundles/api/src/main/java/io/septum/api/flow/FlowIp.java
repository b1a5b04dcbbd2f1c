package io.septum.api.flow;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The IP header's addresses and version ({@code IPv4} or {@code IPv6}). */
public record FlowIp(
        @JsonProperty("source") String source,
        @JsonProperty("destination") String destination,
        @JsonProperty("ipVersion") String ipVersion) {
}
