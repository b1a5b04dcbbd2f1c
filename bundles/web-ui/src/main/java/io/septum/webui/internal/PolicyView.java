package io.septum.webui.internal;

import io.septum.api.policy.PolicyInfo;
import io.septum.api.policy.PolicyModes;
import io.septum.api.policy.RuleRef;
import java.util.List;
import java.util.Map;

/**
 * A policy as the UI's policy table shows it: {@link PolicyInfo} without the document, each rule with its hits.
 *
 * @param mode  {@code audit} or {@code enforce} ({@link PolicyModes}), for the stage and promote buttons
 * @param rules its rules; {@code hits} is null when no hit counts are available (shown as "-")
 */
record PolicyView(String name, String namespace, String kind, long revision, String origin, List<String> notes,
                  String mode, List<Rule> rules) {
    /** One rule: id, how verdicts name it, and the packets it decided (null: unknown). */
    record Rule(int id, String section, int index, String rule, boolean hasL7, Long hits) {
    }

    static PolicyView of(PolicyInfo p, Map<Integer, Long> hits) {
        List<Rule> rules = p.rules().stream().map(r -> rule(r, hits)).toList();
        return new PolicyView(p.name(), p.namespace(), p.kind(), p.revision(), p.origin(), p.notes(), mode(p), rules);
    }

    /** The policy's mode, from the note the parser attaches to a policy with the audit annotation. */
    static String mode(PolicyInfo p) {
        String audit = PolicyModes.AUDIT + " mode (" + PolicyModes.ANNOTATION + ")";
        return p.notes().stream().anyMatch(n -> n.startsWith(audit)) ? PolicyModes.AUDIT : PolicyModes.ENFORCE;
    }

    private static Rule rule(RuleRef r, Map<Integer, Long> hits) {
        Long h = hits == null ? null : hits.getOrDefault(r.id(), 0L);
        return new Rule(r.id(), r.section(), r.index(), r.display(), r.hasL7(), h);
    }
}
