package io.septum.policy.internal;

import io.septum.api.Labels;
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
 * @param cidrs      a {@code CiliumCIDRGroup}'s {@code externalCIDRs}, which {@code cidrGroupRef} peers name; empty
 *                   for policies
 * @param labels     a {@code CiliumCIDRGroup}'s {@code metadata.labels}, which {@code cidrGroupSelector} peers select;
 *                   empty for policies
 */
record CompiledPolicy(String kind, String namespace, String name, String origin, long revision,
                      List<CompiledRule> rules, List<CompiledRule> isolations, List<String> notes, String document,
                      boolean audit, List<Cidr> cidrs, Labels labels) {
    static final String CNP = "CiliumNetworkPolicy";
    static final String CCNP = "CiliumClusterwideNetworkPolicy";
    static final String KNP = "NetworkPolicy";
    static final String CIDR_GROUP = "CiliumCIDRGroup";

    CompiledPolicy {
        rules = List.copyOf(rules);
        isolations = List.copyOf(isolations);
        notes = List.copyOf(notes);
        cidrs = List.copyOf(cidrs);
    }

    /** A policy (with no CIDRs of its own). */
    CompiledPolicy(String kind, String namespace, String name, String origin, long revision, List<CompiledRule> rules,
                   List<CompiledRule> isolations, List<String> notes, String document, boolean audit) {
        this(kind, namespace, name, origin, revision, rules, isolations, notes, document, audit, List.of(), Labels.EMPTY);
    }

    String qualifiedName() {
        return namespace.isEmpty() ? name : namespace + "/" + name;
    }

    /** Identity of a policy in a set: the same kind, namespace and name replace each other. */
    String key() {
        return kind + "/" + namespace + "/" + name;
    }

    CompiledPolicy withRevision(long rev) {
        return new CompiledPolicy(kind, namespace, name, origin, rev, rules, isolations, notes, document, audit, cidrs,
                labels);
    }

    /** The same policy with the CIDR groups and services its rules' peers name as they are in {@code refs}. */
    CompiledPolicy resolved(References refs) {
        if (rules.stream().noneMatch(CompiledRule::namesObjects)) return this;
        return new CompiledPolicy(kind, namespace, name, origin, revision,
                rules.stream().map(r -> r.resolved(refs)).toList(), isolations, notes, document, audit, cidrs, labels);
    }
}
