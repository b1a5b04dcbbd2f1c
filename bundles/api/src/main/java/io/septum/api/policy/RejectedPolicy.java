package io.septum.api.policy;

import java.util.List;

/**
 * A policy object that a source (e.g. the Kubernetes API) offered and the repository refused. Nothing of it is in
 * force; {@code policy list} shows it so that the operator sees why.
 *
 * @param origin    where it came from, e.g. {@code k8s:CiliumNetworkPolicy/prod/allow-db}; one entry per origin
 * @param kind      CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy
 * @param namespace empty for cluster-wide objects
 * @param name      the object's name
 * @param reason    why it was refused (document, field and reason)
 * @param time      epoch millis of the refusal
 * @param document  the text that was refused
 */
public record RejectedPolicy(String origin, String kind, String namespace, String name, String reason, long time,
                             String document) {
    /** The note that marks a rejected entry in {@code policy list}. */
    public static final String NOTE_PREFIX = "REJECTED: ";

    public RejectedPolicy {
        if (origin == null || origin.isBlank()) throw new IllegalArgumentException("origin is required");
        namespace = namespace == null ? "" : namespace;
    }

    /** The row {@code policy list} prints for it: revision 0, no rules, and the reason as a note. */
    public PolicyInfo asPolicyInfo() {
        return new PolicyInfo(name, namespace, kind, 0, origin, List.of(), List.of(NOTE_PREFIX + reason), document);
    }
}
