package io.septum.api.ui;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.Objects;

/**
 * A one-time login link of the web UI.
 *
 * @param url     the link to open in a browser on this host
 * @param expires when it stops working if it is not used first (RFC 3339)
 */
@JsonPropertyOrder({"url", "expires"})
public record UiLoginLink(@JsonProperty("url") String url, @JsonProperty("expires") String expires) {
    public UiLoginLink {
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(expires, "expires");
    }
}
