package io.septum.api.flow;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * One real connection attempt from inside an endpoint's network namespace and the verdicts the agent recorded for
 * it: what {@code septum probe -o json} prints and the web UI's probe shows.
 *
 * @param from     the source endpoint, {@code namespace/name}
 * @param to       the destination endpoint ({@code namespace/name}) or the address asked for
 * @param address  the address probed
 * @param port     the port (0 for ICMP)
 * @param protocol {@code TCP} or {@code ICMP}
 * @param result   {@code connected}, {@code refused}, {@code replied}, {@code timed-out} or {@code error}
 * @param passed   whether the attempt got through (connected, refused, replied)
 * @param detail   why, in words; empty when there is nothing to add
 * @param flows    the flows the agent recorded for the attempt (the source's egress, the destination's ingress)
 * @since 1.6
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"from", "to", "address", "port", "protocol", "result", "passed", "detail", "flows"})
public record ProbeResult(
        @JsonProperty("from") String from,
        @JsonProperty("to") String to,
        @JsonProperty("address") String address,
        @JsonProperty("port") int port,
        @JsonProperty("protocol") String protocol,
        @JsonProperty("result") String result,
        @JsonProperty("passed") boolean passed,
        @JsonProperty("detail") String detail,
        @JsonProperty("flows") List<Flow> flows) {
    public ProbeResult {
        flows = flows == null ? List.of() : List.copyOf(flows);
    }
}
