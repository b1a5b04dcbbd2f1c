package io.septum.api.flow;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * What {@code septum policy diff} prints: the draft's policies against those in force, and the live endpoints
 * whose resolved policy would change.
 *
 * @since 1.5
 */
@JsonPropertyOrder({"policies", "endpoints"})
public record PolicyDiff(
        @JsonProperty("policies") List<PolicyChange> policies,
        @JsonProperty("endpoints") List<EndpointChange> endpoints) {
    public PolicyDiff {
        policies = policies == null ? List.of() : List.copyOf(policies);
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
    }

    public static final String ADDED = "added";
    public static final String CHANGED = "changed";
    public static final String UNCHANGED = "unchanged";

    /**
     * One policy of the draft.
     *
     * @param policy the policy ({@code namespace/name}, or the name of a cluster-wide one)
     * @param kind   its kind
     * @param change {@link #ADDED}, {@link #CHANGED} or {@link #UNCHANGED}
     * @param diff   for a changed policy, the document's lines in unified-diff style ({@code -} in force, {@code +}
     *               draft, {@code " "} both); empty otherwise
     */
    @JsonPropertyOrder({"policy", "kind", "change", "diff"})
    public record PolicyChange(
            @JsonProperty("policy") String policy,
            @JsonProperty("kind") String kind,
            @JsonProperty("change") String change,
            @JsonProperty("diff") List<String> diff) {
        public PolicyChange {
            diff = diff == null ? List.of() : List.copyOf(diff);
        }
    }

    /**
     * A live endpoint whose resolved policy the draft changes.
     *
     * @param endpoint        {@code namespace/name}
     * @param ingressEnforced whether ingress is enforced, before and after ({@code "no -> yes"} when it changes)
     * @param egressEnforced  the same for egress
     * @param entriesAdded    policy entries the endpoint would gain
     * @param entriesRemoved  policy entries it would lose
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"endpoint", "ingress_enforced", "egress_enforced", "entries_added", "entries_removed"})
    public record EndpointChange(
            @JsonProperty("endpoint") String endpoint,
            @JsonProperty("ingress_enforced") String ingressEnforced,
            @JsonProperty("egress_enforced") String egressEnforced,
            @JsonProperty("entries_added") int entriesAdded,
            @JsonProperty("entries_removed") int entriesRemoved) {
    }
}
