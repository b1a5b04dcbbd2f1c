package io.septum.api.flow;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * A DNS query or answer seen by the DNS proxy, in Hubble's words: {@code query} the name asked for (with the
 * trailing dot), {@code qtypes} its types ({@code A}, {@code AAAA}, ...), {@code ips} and {@code ttl} the answer's
 * addresses and least TTL, {@code rcode} the answer's response code (0 NOERROR, 3 NXDOMAIN, 5 REFUSED). Since 1.7.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record FlowDns(
        @JsonProperty("query") String query,
        @JsonProperty("qtypes") List<String> qtypes,
        @JsonProperty("ips") List<String> ips,
        @JsonProperty("ttl") long ttl,
        @JsonProperty("rcode") int rcode) {
    public FlowDns {
        qtypes = qtypes == null ? List.of() : List.copyOf(qtypes);
        ips = ips == null ? List.of() : List.copyOf(ips);
    }
}
