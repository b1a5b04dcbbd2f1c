package io.septum.policy.internal;

import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.ReservedIdentity;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * A compiled label selector: every requirement must hold. Identities carrying {@code reserved:} or {@code cidr:}
 * labels are never selected unless the selector itself names a {@code reserved:} key, so that a selector made
 * only of {@code DoesNotExist} (or {@code {}}) cannot reach the host or the world (CVE-2023-41333).
 */
final class Selector {
    enum Op { IN, NOT_IN, EXISTS, DOES_NOT_EXIST }

    /** One requirement; {@code source} is {@link Label#ANY} when the selector key named none. */
    record Requirement(String source, String key, Op op, Set<String> values) {
        boolean matches(Labels labels) {
            boolean present = false;
            boolean inValues = false;
            for (Label l : labels) {
                if (!l.key().equals(key) || !(Label.ANY.equals(source) || l.source().equals(source))) continue;
                present = true;
                if (values.contains(l.value())) inValues = true;
            }
            return switch (op) {
                case IN -> inValues;
                case NOT_IN -> !inValues;
                case EXISTS -> present;
                case DOES_NOT_EXIST -> !present;
            };
        }

        String keyText() {
            return Label.ANY.equals(source) ? key : source + ":" + key;
        }

        @Override
        public String toString() {
            return switch (op) {
                case IN -> values.size() == 1 ? keyText() + "=" + values.iterator().next()
                        : keyText() + " in (" + String.join(",", values) + ")";
                case NOT_IN -> keyText() + " notin (" + String.join(",", values) + ")";
                case EXISTS -> keyText();
                case DOES_NOT_EXIST -> "!" + keyText();
            };
        }
    }

    private final List<Requirement> requirements;
    private final boolean namesReserved;

    Selector(List<Requirement> requirements) {
        this.requirements = List.copyOf(requirements);
        this.namesReserved = requirements.stream().anyMatch(r -> Label.RESERVED.equals(r.source())
                && (r.op() == Op.IN || r.op() == Op.EXISTS));
    }

    List<Requirement> requirements() {
        return requirements;
    }

    /** True when a requirement is about the agent-set namespace label (any source or {@code k8s}). */
    boolean namesNamespace() {
        return requirements.stream().anyMatch(r -> Labels.NAMESPACE_KEY.equals(r.key())
                && (Label.ANY.equals(r.source()) || Label.K8S.equals(r.source())));
    }

    boolean namesReserved() {
        return namesReserved;
    }

    Selector and(Requirement extra) {
        List<Requirement> all = new ArrayList<>(requirements);
        all.add(extra);
        return new Selector(all);
    }

    boolean matches(Labels labels) {
        if (!namesReserved && isReservedOrCidr(labels)) return false;
        for (Requirement r : requirements) if (!r.matches(labels)) return false;
        return true;
    }

    static boolean isReservedOrCidr(Labels labels) {
        for (Label l : labels) {
            if (Label.RESERVED.equals(l.source()) || Label.CIDR.equals(l.source())) return true;
        }
        return false;
    }

    static Requirement namespaceIs(String namespace) {
        return new Requirement(Label.K8S, Labels.NAMESPACE_KEY, Op.IN, new TreeSet<>(Set.of(namespace)));
    }

    /** The host endpoint: what a host policy's nodeSelector is narrowed to. */
    static Requirement isHost() {
        return new Requirement(Label.RESERVED, ReservedIdentity.HOST.labelName(), Op.EXISTS, Set.of());
    }

    /** Anything but the host endpoint: what every endpointSelector is narrowed to. */
    static Requirement notHost() {
        return new Requirement(Label.RESERVED, ReservedIdentity.HOST.labelName(), Op.DOES_NOT_EXIST, Set.of());
    }

    static Requirement namespaceExists() {
        return new Requirement(Label.K8S, Labels.NAMESPACE_KEY, Op.EXISTS, Set.of());
    }

    /** As written: without the requirement every endpointSelector gets ({@link #notHost}), which nobody wrote. */
    @Override
    public String toString() {
        Requirement implied = notHost();
        List<Requirement> shown = requirements.stream().filter(r -> !r.equals(implied)).toList();
        return shown.isEmpty() ? "{}" : "{" + shown.stream().map(Requirement::toString)
                .collect(Collectors.joining(", ")) + "}";
    }
}
