package io.septum.api;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/** An immutable, sorted set of labels; its {@link #toString()} is the canonical key of an identity. */
public final class Labels implements Iterable<Label> {
    public static final Labels EMPTY = new Labels(List.of());
    /** The label the agent sets on every endpoint; no source may set it. */
    public static final String NAMESPACE_KEY = "io.kubernetes.pod.namespace";
    /** Prefix of the labels that carry an endpoint's namespace labels, as Cilium exposes them. */
    public static final String NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels.";
    /** The cluster an endpoint belongs to ({@code k8s:io.cilium.k8s.policy.cluster=<name>}); only the agent sets it. */
    public static final String CLUSTER_KEY = "io.cilium.k8s.policy.cluster";

    private final List<Label> labels;

    private Labels(List<Label> sorted) {
        this.labels = sorted;
    }

    public static Labels of(Collection<Label> labels) {
        return new Labels(Collections.unmodifiableList(new ArrayList<>(new TreeSet<>(labels))));
    }

    public static Labels of(Label... labels) {
        return of(List.of(labels));
    }

    /** Parses labels written as {@code source:key=value}; entries without a source get {@code defaultSource}. */
    public static Labels parse(Collection<String> texts, String defaultSource) {
        List<Label> out = new ArrayList<>();
        for (String t : texts) out.add(Label.parse(t, defaultSource));
        return of(out);
    }

    /**
     * Labels for a policy trace, as the REST API, the CLI and the console read them: each text may hold several
     * comma-separated labels; entries without a source get {@code any}. A peer that names no namespace and is not a
     * reserved or CIDR identity is taken to be in {@code default}, as an endpoint of any source would be.
     *
     * @throws IllegalArgumentException when no label is given, or one cannot be parsed
     */
    public static Labels forTrace(Collection<String> texts) {
        List<String> flat = new ArrayList<>();
        if (texts != null) {
            for (String t : texts) {
                if (t == null) continue;
                for (String part : t.split(",")) if (!part.isBlank()) flat.add(part.strip());
            }
        }
        if (flat.isEmpty()) throw new IllegalArgumentException("no labels given (e.g. k8s:org=empire,class=tiefighter)");
        Labels labels = parse(flat, Label.ANY);
        boolean special = labels.labels.stream()
                .anyMatch(l -> l.source().equals(Label.RESERVED) || l.source().equals(Label.CIDR));
        if (!special && !labels.has(Label.ANY, NAMESPACE_KEY)) {
            labels = labels.with(new Label(Label.K8S, NAMESPACE_KEY, "default"));
        }
        return labels;
    }

    public List<Label> asList() {
        return labels;
    }

    public List<String> asStrings() {
        List<String> out = new ArrayList<>(labels.size());
        for (Label l : labels) out.add(l.toString());
        return out;
    }

    /** The value of the first label with this key whose source matches {@code source} ({@code any} for every source). */
    public Optional<String> get(String source, String key) {
        for (Label l : labels) {
            if (l.key().equals(key) && (Label.ANY.equals(source) || l.source().equals(source))) {
                return Optional.of(l.value());
            }
        }
        return Optional.empty();
    }

    public boolean has(String source, String key) {
        return get(source, key).isPresent();
    }

    public boolean isReserved(String name) {
        return has(Label.RESERVED, name);
    }

    public Optional<String> namespace() {
        return get(Label.K8S, NAMESPACE_KEY);
    }

    public Labels with(Label extra) {
        List<Label> all = new ArrayList<>(labels);
        all.add(extra);
        return of(all);
    }

    public int size() {
        return labels.size();
    }

    public boolean isEmpty() {
        return labels.isEmpty();
    }

    @Override
    public Iterator<Label> iterator() {
        return labels.iterator();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Labels other && labels.equals(other.labels);
    }

    @Override
    public int hashCode() {
        return labels.hashCode();
    }

    @Override
    public String toString() {
        return String.join(",", asStrings());
    }
}
