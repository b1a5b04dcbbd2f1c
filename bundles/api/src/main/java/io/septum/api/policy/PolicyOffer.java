package io.septum.api.policy;

/**
 * One policy object a {@link PolicySource} offers: what it is called where it lives, and its document as its author
 * wrote it (the YAML {@code septum policy import} would take).
 *
 * @param origin    where it comes from, starting with the source's name, e.g.
 *                  {@code k8s:CiliumNetworkPolicy/prod/allow-db}; one policy per origin
 * @param kind      CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy
 * @param namespace empty or null for cluster-wide objects
 * @param name      the object's name
 * @param document  the YAML document
 */
public record PolicyOffer(String origin, String kind, String namespace, String name, String document) {
    public PolicyOffer {
        if (origin == null || origin.isBlank()) throw new IllegalArgumentException("origin is required");
        if (name == null || name.isBlank()) throw new IllegalArgumentException("name is required (origin " + origin + ")");
        if (document == null) throw new IllegalArgumentException("document is required (origin " + origin + ")");
        namespace = namespace == null ? "" : namespace;
    }

    /** The record of its refusal, for {@code reason}, at {@code time} (epoch millis). */
    public RejectedPolicy rejected(String reason, long time) {
        return new RejectedPolicy(origin, kind, namespace, name, reason, time, document);
    }
}
