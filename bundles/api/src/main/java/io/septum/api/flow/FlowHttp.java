package io.septum.api.flow;

import com.fasterxml.jackson.annotation.JsonProperty;

/** An HTTP request or response seen by the L7 proxy: {@code code} is 0 on a request. */
public record FlowHttp(
        @JsonProperty("code") int code,
        @JsonProperty("method") String method,
        @JsonProperty("url") String url,
        @JsonProperty("protocol") String protocol) {
}
