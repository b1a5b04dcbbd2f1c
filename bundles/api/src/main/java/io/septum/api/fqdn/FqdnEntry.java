package io.septum.api.fqdn;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One address an allowed, proxied DNS lookup returned for a name: {@code toFQDNs} rules that match the name allow
 * it until {@code expires} (epoch milliseconds: the answer's TTL, raised to the agent's minimum TTL).
 *
 * @param name       the name, lower case, without the trailing dot
 * @param endpointId the endpoint whose lookup taught it last
 */
public record FqdnEntry(
        @JsonProperty("name") String name,
        @JsonProperty("ip") String ip,
        @JsonProperty("ttl") long ttl,
        @JsonProperty("expires") long expires,
        @JsonProperty("endpoint_id") long endpointId) {
}
