package io.septum.api.policy;

import java.util.List;

/**
 * A policy as the repository holds it: what {@code policy list} and {@code policy get} print.
 *
 * @param namespace empty for cluster-wide policies
 * @param kind      CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy
 * @param revision  the repository revision that last changed it
 * @param origin    the file or API it came from
 * @param rules     the rules it holds, with their ids
 * @param notes     remarks about how the agent applies it
 * @param document  the document as the user wrote it
 */
public record PolicyInfo(
        String name,
        String namespace,
        String kind,
        long revision,
        String origin,
        List<RuleRef> rules,
        List<String> notes,
        String document) {
    public PolicyInfo {
        rules = rules == null ? List.of() : List.copyOf(rules);
        notes = notes == null ? List.of() : List.copyOf(notes);
    }

    /** {@code namespace/name}, or the bare name for cluster-wide policies. */
    public String qualifiedName() {
        return namespace == null || namespace.isEmpty() ? name : namespace + "/" + name;
    }
}
