package io.septum.api.policy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * One change of one policy in the repository's history: what {@code septum policy history} prints.
 *
 * @param revision the repository revision of the change (an import of several policies gives each the same one)
 * @param time     when it was applied (RFC 3339)
 * @param author   who asked: the API caller's unix user, or the policy source that offered it
 * @param action   {@code import}, {@code delete} or {@code rollback}
 * @param change   {@code added}, {@code changed}, {@code unchanged} or {@code deleted}
 * @param kind     the policy's kind
 * @param policy   {@code namespace/name}, or the name of a cluster-wide policy
 * @param origin   the file or API the document came from
 * @param note     for a rollback, the revision it went back to; otherwise null
 * @param diff     the document's lines against the policy's previous revision ({@code -} before, {@code +} after,
 *                 {@code " "} both); empty when unchanged
 * @since 1.6
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"revision", "time", "author", "action", "change", "kind", "policy", "origin", "note", "diff"})
public record PolicyRevision(
        @JsonProperty("revision") long revision,
        @JsonProperty("time") String time,
        @JsonProperty("author") String author,
        @JsonProperty("action") String action,
        @JsonProperty("change") String change,
        @JsonProperty("kind") String kind,
        @JsonProperty("policy") String policy,
        @JsonProperty("origin") String origin,
        @JsonProperty("note") String note,
        @JsonProperty("diff") List<String> diff) {
    public PolicyRevision {
        diff = diff == null ? List.of() : List.copyOf(diff);
    }
}
