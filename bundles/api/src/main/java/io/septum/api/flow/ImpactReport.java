package io.septum.api.flow;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * What {@code septum policy impact} prints: the distinct connections of the recorded window, each judged before and
 * after the draft, and their counts by outcome.
 *
 * @param since        the start of the window (RFC 3339), null when every held flow was read
 * @param flowsRead    how many recorded flows were read
 * @param limitReached true when the window held more flows than the limit: only the newest were read
 * @param newlyDropped distinct connections that pass today and the draft would drop
 * @param newlyAllowed distinct connections dropped today that the draft would let pass
 * @param unchanged    distinct connections whose outcome stays the same
 * @param flows        every distinct connection, the changed ones first
 * @param endpoints    the live endpoints the draft's policies select ({@code namespace/name})
 * @since 1.5
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"since", "flows_read", "limit_reached", "newly_dropped", "newly_allowed", "unchanged", "flows",
        "endpoints"})
public record ImpactReport(
        @JsonProperty("since") String since,
        @JsonProperty("flows_read") long flowsRead,
        @JsonProperty("limit_reached") boolean limitReached,
        @JsonProperty("newly_dropped") int newlyDropped,
        @JsonProperty("newly_allowed") int newlyAllowed,
        @JsonProperty("unchanged") int unchanged,
        @JsonProperty("flows") List<ImpactFlow> flows,
        @JsonProperty("endpoints") List<String> endpoints) {
    public ImpactReport {
        flows = flows == null ? List.of() : List.copyOf(flows);
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
    }

    /** Outcome of a connection: it passes, it is dropped, or it passes L3/L4 and the L7 proxy judges each request. */
    public static final String ALLOWED = "ALLOWED";
    public static final String DROPPED = "DROPPED";
    public static final String L7 = "L7";
    /** {@link ImpactFlow#change()} values. */
    public static final String NEWLY_DROPPED = "newly-dropped";
    public static final String NEWLY_ALLOWED = "newly-allowed";
    public static final String UNCHANGED = "unchanged";

    /**
     * One distinct connection of the window.
     *
     * @param source      the source endpoint ({@code namespace/name}), or its address when it is not one
     * @param destination the same for the destination
     * @param protocol    TCP, UDP, SCTP, ICMP or ICMPv6
     * @param port        the destination port (the ICMP type for ICMP)
     * @param method      the HTTP method, for L7 flows
     * @param path        the HTTP path, for L7 flows
     * @param count       how many recorded flows are this connection
     * @param recorded    the verdict recorded at the time (the last flow's), as Hubble names it
     * @param before      {@link #ALLOWED}, {@link #DROPPED} or {@link #L7} with the policies in force
     * @param after       the same with the draft
     * @param beforeRule  the rule that decides before (or why none does)
     * @param afterRule   the rule that decides after
     * @param change      {@link #NEWLY_DROPPED}, {@link #NEWLY_ALLOWED} or {@link #UNCHANGED}
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"source", "destination", "protocol", "port", "method", "path", "count", "recorded", "before",
            "after", "before_rule", "after_rule", "change"})
    public record ImpactFlow(
            @JsonProperty("source") String source,
            @JsonProperty("destination") String destination,
            @JsonProperty("protocol") String protocol,
            @JsonProperty("port") int port,
            @JsonProperty("method") String method,
            @JsonProperty("path") String path,
            @JsonProperty("count") long count,
            @JsonProperty("recorded") String recorded,
            @JsonProperty("before") String before,
            @JsonProperty("after") String after,
            @JsonProperty("before_rule") String beforeRule,
            @JsonProperty("after_rule") String afterRule,
            @JsonProperty("change") String change) {
    }
}
