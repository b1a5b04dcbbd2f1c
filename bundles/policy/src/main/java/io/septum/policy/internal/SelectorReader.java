package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;
import static io.septum.policy.internal.YamlNodes.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.api.Label;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads a label selector, the same shape in both schemas: {@code matchLabels} (each an {@code In} of one value) and
 * {@code matchExpressions} ({@code In}, {@code NotIn}, {@code Exists}, {@code DoesNotExist}). For example:
 * <pre>{@code
 * {matchLabels: {app: web}, matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}
 * }</pre>
 * A Cilium key may name a label source ({@code k8s:app}, {@code reserved:host}); a Kubernetes one may not. A missing
 * selector selects everything. Scoping to a namespace is the schema's own rule and is done by the caller
 * ({@link CiliumPolicyReader}, {@link K8sPolicyReader}).
 */
final class SelectorReader {
    private SelectorReader() {
    }

    /**
     * Parses a label selector. Keys may carry a source ({@code k8s:app}); a key without one matches every
     * source. {@code k8sKeys} marks Kubernetes NetworkPolicy selectors, whose keys cannot name a source.
     */
    static Selector read(Diagnostics diag, JsonNode s, String path, boolean k8sKeys) {
        if (s == null || s.isNull()) return new Selector(List.of());
        if (!s.isObject()) {
            diag.error(path, "expected a label selector {matchLabels: {...}, matchExpressions: [...]}, found "
                    + nodeType(s));
            return null;
        }
        int errs = diag.count();
        diag.unknownFields(s, path, Set.of("matchLabels", "matchExpressions"));
        List<Selector.Requirement> reqs = new ArrayList<>();
        JsonNode ml = s.get("matchLabels");
        if (ml != null && !ml.isNull()) {
            if (!ml.isObject()) {
                diag.error(join(path, "matchLabels"), "expected a map of label key to value, found " + nodeType(ml));
            } else {
                for (Iterator<Map.Entry<String, JsonNode>> it = ml.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    String f = join(path, "matchLabels") + "." + e.getKey();
                    JsonNode v = e.getValue();
                    if (v != null && !v.isNull() && !v.isValueNode()) {
                        diag.error(f, "expected a label value string, found " + nodeType(v));
                        continue;
                    }
                    Label key = selectorKey(diag, e.getKey(), f, k8sKeys);
                    if (key == null) continue;
                    String value = v == null || v.isNull() ? "" : v.asText();
                    reqs.add(new Selector.Requirement(key.source(), key.key(), Selector.Op.IN,
                            new TreeSet<>(Set.of(value))));
                }
            }
        }
        JsonNode me = s.get("matchExpressions");
        if (me != null && !me.isNull() && diag.isList(me, join(path, "matchExpressions"))) {
            for (int i = 0; i < me.size(); i++) {
                String p = join(path, "matchExpressions") + "[" + i + "]";
                Selector.Requirement r = expression(diag, me.get(i), p, k8sKeys);
                if (r != null) reqs.add(r);
            }
        }
        return diag.count() > errs ? null : new Selector(reqs);
    }

    private static Selector.Requirement expression(Diagnostics diag, JsonNode e, String path, boolean k8sKeys) {
        if (!e.isObject()) {
            diag.error(path, "expected {key, operator, values}, found " + nodeType(e));
            return null;
        }
        diag.unknownFields(e, path, Set.of("key", "operator", "values"));
        String keyText = text(e.get("key"));
        if (keyText == null || keyText.isEmpty()) {
            diag.error(join(path, "key"), "missing key");
            return null;
        }
        Label key = selectorKey(diag, keyText, join(path, "key"), k8sKeys);
        String opText = text(e.get("operator"));
        Selector.Op op = null;
        if (opText == null) {
            diag.error(join(path, "operator"), "missing operator (In, NotIn, Exists or DoesNotExist)");
        } else {
            switch (opText) {
                case "In" -> op = Selector.Op.IN;
                case "NotIn" -> op = Selector.Op.NOT_IN;
                case "Exists" -> op = Selector.Op.EXISTS;
                case "DoesNotExist" -> op = Selector.Op.DOES_NOT_EXIST;
                default -> diag.error(join(path, "operator"), "unknown operator \"" + opText
                        + "\" (expected In, NotIn, Exists or DoesNotExist)");
            }
        }
        Set<String> values = new TreeSet<>();
        JsonNode vs = e.get("values");
        boolean hasValues = vs != null && !vs.isNull();
        if (hasValues && diag.isList(vs, join(path, "values"))) {
            for (int i = 0; i < vs.size(); i++) {
                if (!vs.get(i).isValueNode() || vs.get(i).isNull()) {
                    diag.error(join(path, "values") + "[" + i + "]", "expected a string, found " + nodeType(vs.get(i)));
                } else {
                    values.add(vs.get(i).asText());
                }
            }
        }
        if (op == null || key == null) return null;
        if ((op == Selector.Op.IN || op == Selector.Op.NOT_IN) && values.isEmpty()) {
            diag.error(join(path, "values"), "operator " + opText + " needs at least one value");
            return null;
        }
        if ((op == Selector.Op.EXISTS || op == Selector.Op.DOES_NOT_EXIST) && hasValues && vs.size() > 0) {
            diag.error(join(path, "values"), "operator " + opText + " takes no values");
            return null;
        }
        return new Selector.Requirement(key.source(), key.key(), op, values);
    }

    private static Label selectorKey(Diagnostics diag, String text, String path, boolean k8sKeys) {
        String t = text.trim();
        if (t.isEmpty()) {
            diag.error(path, "empty label key");
            return null;
        }
        int colon = t.indexOf(':');
        if (colon < 0 || k8sKeys) {
            if (k8sKeys && colon >= 0) {
                diag.error(path, "invalid label key \"" + t + "\": Kubernetes label keys cannot contain ':'");
                return null;
            }
            return new Label(Label.ANY, t, "");
        }
        String source = t.substring(0, colon);
        String key = t.substring(colon + 1);
        if (source.isEmpty() || key.isEmpty()) {
            diag.error(path, "invalid label key \"" + t + "\": expected key or source:key");
            return null;
        }
        return new Label(source, key, "");
    }
}
