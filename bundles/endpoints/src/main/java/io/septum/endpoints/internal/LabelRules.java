package io.septum.endpoints.internal;

import io.septum.api.EndpointSpec;
import io.septum.api.Label;
import io.septum.api.Labels;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The label rules that keep a source from impersonating a namespace or a reserved identity (cf. CVE-2023-39347):
 * a source only ever gets labels of its own source, and the agent alone sets the namespace labels.
 */
final class LabelRules {
    static final String DEFAULT_NAMESPACE = "default";
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern SOURCE_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?");
    // Kubernetes qualified names with an optional DNS prefix; no ':' '=' ',' or spaces, which would break parsing.
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._/-]{0,251}[A-Za-z0-9])?");
    private static final Pattern VALUE = Pattern.compile("([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?");

    private LabelRules() {
    }

    /** The labels the agent gives an endpoint, and why any label of the source was dropped. */
    record Result(Labels labels, String namespace, List<String> problems, String refusal) {
    }

    static String checkSourceName(String source) {
        if (source == null || !SOURCE_NAME.matcher(source).matches()) {
            return "source name \"" + source + "\" is not a lowercase DNS label of at most 32 characters";
        }
        if (Label.RESERVED.equals(source) || Label.CIDR.equals(source) || Label.ANY.equals(source)) {
            return "source name \"" + source + "\" is reserved by the agent";
        }
        return null;
    }

    static String checkNamespace(String namespace) {
        if (namespace == null || !DNS_LABEL.matcher(namespace).matches()) {
            return "namespace \"" + namespace + "\" is not a DNS label (lowercase letters, digits and '-', at most"
                    + " 63 characters, starting and ending with a letter or digit)";
        }
        return null;
    }

    static String checkLabel(String key, String value) {
        if (key == null || !KEY.matcher(key).matches()) {
            return "label key \"" + key + "\" is not a valid name (letters, digits, '.', '_', '-', '/', at most 253)";
        }
        if (value == null || !VALUE.matcher(value).matches()) {
            return "label " + key + ": value \"" + value + "\" is not valid (letters, digits, '.', '_', '-', at most 63,"
                    + " starting and ending with a letter or digit)";
        }
        return null;
    }

    static String namespaceOf(EndpointSpec spec) {
        return spec.namespace() == null || spec.namespace().isEmpty() ? DEFAULT_NAMESPACE : spec.namespace();
    }

    /**
     * Builds an endpoint's labels from what its source said. Labels that break a rule are dropped and named in
     * {@code problems}; an invalid name or namespace refuses the endpoint as a whole, because putting it in another
     * namespace would give it that namespace's policy.
     */
    static Result build(String source, EndpointSpec spec, Map<String, String> namespaceLabels) {
        return build(source, spec, namespaceLabels, null);
    }

    /** As above; {@code clusterName} non-null (cluster mode) adds {@code k8s:io.cilium.k8s.policy.cluster=<name>}. */
    static Result build(String source, EndpointSpec spec, Map<String, String> namespaceLabels, String clusterName) {
        List<String> problems = new ArrayList<>();
        String namespace = namespaceOf(spec);
        String refusal = checkNamespace(namespace);
        if (refusal == null && (spec.name() == null || !NAME.matcher(spec.name()).matches())) {
            refusal = "endpoint name \"" + spec.name() + "\" is not valid (letters, digits, '.', '_', '-', at most 253)";
        }
        List<Label> out = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Map.Entry<String, String> e : new TreeMap<>(spec.labels()).entrySet()) {
            String key = e.getKey();
            String value = e.getValue() == null ? "" : e.getValue();
            int colon = key == null ? -1 : key.indexOf(':');
            if (colon >= 0) {
                String prefix = key.substring(0, colon);
                if (!prefix.equals(source)) {
                    problems.add("label " + key + " dropped: source " + source + " may only set " + source
                            + ": labels, not " + prefix + ":");
                    continue;
                }
                key = key.substring(colon + 1);
            }
            if (Labels.CLUSTER_KEY.equals(key)) {
                problems.add("label " + e.getKey() + " dropped: only the agent sets the cluster");
                continue;
            }
            if (Labels.NAMESPACE_KEY.equals(key) || key.startsWith(Labels.NAMESPACE_LABELS_PREFIX)) {
                problems.add("label " + e.getKey() + " dropped: only the agent sets the namespace and its labels"
                        + " (set the endpoint's namespace instead)");
                continue;
            }
            String bad = checkLabel(key, value);
            if (bad != null) {
                problems.add(bad + "; dropped");
                continue;
            }
            if (!seen.add(key)) {
                problems.add("label " + e.getKey() + " dropped: key " + key + " is given twice (with and without the "
                        + source + ": prefix)");
                continue;
            }
            out.add(new Label(source, key, value));
        }
        out.add(new Label(Label.K8S, Labels.NAMESPACE_KEY, namespace));
        if (clusterName != null) out.add(new Label(Label.K8S, Labels.CLUSTER_KEY, clusterName));
        if (namespaceLabels != null) {
            for (Map.Entry<String, String> e : new TreeMap<>(namespaceLabels).entrySet()) {
                out.add(new Label(Label.K8S, Labels.NAMESPACE_LABELS_PREFIX + e.getKey(), e.getValue()));
            }
        }
        return new Result(Labels.of(out), namespace, List.copyOf(problems), refusal);
    }
}
