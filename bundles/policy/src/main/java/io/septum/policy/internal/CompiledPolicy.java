package io.septum.policy.internal;

import java.util.List;

/**
 * One parsed policy document (or List item) with its compiled rules.
 *
 * @param namespace  empty for cluster-wide policies
 * @param rules      rules in document order
 * @param isolations directions a NetworkPolicy isolates without any rule (policyTypes with no rules): they
 *                   select endpoints for enforcement but allow nothing
 * @param document   the text as the user wrote it
 * @param audit      annotation {@code policy.septum.io/mode: audit}: its denies, and the default deny of directions
 *                   that only audit-mode policies select, let traffic pass as AUDIT
 */
record CompiledPolicy(String kind, String namespace, String name, String origin, long revision,
                      List<CompiledRule> rules, List<CompiledRule> isolations, List<String> notes, String document,
                      boolean audit) {
    static final String CNP = "CiliumNetworkPolicy";
    static final String CCNP = "CiliumClusterwideNetworkPolicy";
    static final String KNP = "NetworkPolicy";

    CompiledPolicy {
        rules = List.copyOf(rules);
        isolations = List.copyOf(isolations);
        notes = List.copyOf(notes);
    }

    String qualifiedName() {
        return namespace.isEmpty() ? name : namespace + "/" + name;
    }

    /** Identity of a policy in a set: the same kind, namespace and name replace each other. */
    String key() {
        return kind + "/" + namespace + "/" + name;
    }

    CompiledPolicy withRevision(long rev) {
        return new CompiledPolicy(kind, namespace, name, origin, rev, rules, isolations, notes, document, audit);
    }
}
