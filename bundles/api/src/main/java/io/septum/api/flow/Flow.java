package io.septum.api.flow;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.septum.api.datapath.DropReason;

/**
 * One observed flow, with Hubble's field names and vocabulary so that Hubble users read it unchanged.
 *
 * @param time             RFC 3339 time with nanoseconds
 * @param timeNanos        the same, in nanoseconds since the epoch (what filters compare)
 * @param verdict          {@link #FORWARDED}, {@link #DROPPED}, {@link #AUDIT} or {@link #REDIRECTED}
 * @param dropReason       Cilium's drop reason code, 0 unless dropped (or audited)
 * @param dropReasonDesc   the code's name as Hubble prints it ({@code POLICY_DENIED}), null when none
 * @param layer            Hubble's {@code Type}: {@code L3_L4} or {@code L7}
 * @param eventType        {@code policy-verdict}, {@code drop}, {@code trace} or {@code l7}
 * @param trafficDirection {@code INGRESS} or {@code EGRESS}, from the observing endpoint's view
 * @param observationPoint {@code TO_ENDPOINT}, {@code FROM_ENDPOINT} or {@code TO_PROXY}
 * @param policyMatchType  {@code L3-Only}, {@code L3-L4}, {@code L4-Only}, {@code all}, {@code L7} or {@code none}
 * @param endpointId       the endpoint whose interface saw it
 * @param ruleId           the datapath's id of the deciding rule, 0 when no rule decided (default allow or deny)
 * @param policy           the deciding rule's policy ({@code default/rule1}), null when none
 * @param rule             the deciding rule as verdicts name it ({@code default/rule1 ingress[0]}), or why none did
 * @param isReply          whether the packet is a reply of a tracked connection
 * @param l7               the proxy's HTTP details, null for L3/L4 flows
 * @param nodeName         the node whose agent observed it (Hubble's {@code node_name}); null only in flows stored
 *                         before agents recorded it
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"time", "time_nanos", "verdict", "drop_reason", "drop_reason_desc", "IP", "l4", "source",
        "destination", "Type", "event_type", "traffic_direction", "trace_observation_point", "policy_match_type",
        "endpoint_id", "rule_id", "policy", "rule", "is_reply", "l7", "node_name"})
public record Flow(
        @JsonProperty("time") String time,
        @JsonProperty("time_nanos") long timeNanos,
        @JsonProperty("verdict") String verdict,
        @JsonProperty("drop_reason") int dropReason,
        @JsonProperty("drop_reason_desc") String dropReasonDesc,
        @JsonProperty("IP") FlowIp ip,
        @JsonProperty("l4") FlowL4 l4,
        @JsonProperty("source") FlowEndpoint source,
        @JsonProperty("destination") FlowEndpoint destination,
        @JsonProperty("Type") String layer,
        @JsonProperty("event_type") String eventType,
        @JsonProperty("traffic_direction") String trafficDirection,
        @JsonProperty("trace_observation_point") String observationPoint,
        @JsonProperty("policy_match_type") String policyMatchType,
        @JsonProperty("endpoint_id") long endpointId,
        @JsonProperty("rule_id") int ruleId,
        @JsonProperty("policy") String policy,
        @JsonProperty("rule") String rule,
        @JsonProperty("is_reply") boolean isReply,
        @JsonProperty("l7") FlowL7 l7,
        @JsonProperty("node_name") String nodeName) {
    public static final String FORWARDED = "FORWARDED";
    public static final String DROPPED = "DROPPED";
    public static final String AUDIT = "AUDIT";
    public static final String REDIRECTED = "REDIRECTED";

    public static final String TYPE_POLICY_VERDICT = "policy-verdict";
    public static final String TYPE_DROP = "drop";
    public static final String TYPE_TRACE = "trace";
    public static final String TYPE_L7 = "l7";

    public static final String TO_ENDPOINT = "TO_ENDPOINT";
    public static final String FROM_ENDPOINT = "FROM_ENDPOINT";
    public static final String TO_PROXY = "TO_PROXY";

    public static final String MATCH_NONE = "none";
    public static final String MATCH_L3_ONLY = "L3-Only";
    public static final String MATCH_L3_L4 = "L3-L4";
    public static final String MATCH_L4_ONLY = "L4-Only";
    public static final String MATCH_ALL = "all";
    public static final String MATCH_L7 = "L7";

    @JsonCreator
    public Flow {
        if (time == null) time = FlowTime.format(timeNanos);
    }

    /** A flow without its node's name: the observer stamps the name when it stores the flow. */
    public Flow(String time, long timeNanos, String verdict, int dropReason, String dropReasonDesc, FlowIp ip, FlowL4 l4,
                FlowEndpoint source, FlowEndpoint destination, String layer, String eventType, String trafficDirection,
                String observationPoint, String policyMatchType, long endpointId, int ruleId, String policy, String rule,
                boolean isReply, FlowL7 l7) {
        this(time, timeNanos, verdict, dropReason, dropReasonDesc, ip, l4, source, destination, layer, eventType,
                trafficDirection, observationPoint, policyMatchType, endpointId, ruleId, policy, rule, isReply, l7, null);
    }

    /** This flow as observed on {@code node}. */
    public Flow withNodeName(String node) {
        return java.util.Objects.equals(node, nodeName) ? this : new Flow(time, timeNanos, verdict, dropReason,
                dropReasonDesc, ip, l4, source, destination, layer, eventType, trafficDirection, observationPoint,
                policyMatchType, endpointId, ruleId, policy, rule, isReply, l7, node);
    }

    /** The drop reason's text as Hubble's compact output prints it ({@code Policy denied}), null when none. */
    @JsonIgnore
    public String dropReasonText() {
        return dropReason == 0 ? null : DropReason.byCode(dropReason).description();
    }
}
