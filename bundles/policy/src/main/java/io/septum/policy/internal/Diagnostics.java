package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.api.policy.ValidationError;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;

/**
 * Where an error is, and the list it goes to: the file ({@code origin}), the document's number in the file (1-based),
 * the policy's kind and name once known, and for each error the field path inside the document (see
 * {@link FieldPath}). One per YAML document; the readers add every error they find and go on, so that one run of
 * {@code policy validate} shows everything to fix. For example, in
 * <pre>{@code
 * spec: {endpointSelector: {}, ingress: [{fromEntities: [galaxy]}]}
 * }</pre>
 * the error is reported as {@code file: document 1 (CiliumNetworkPolicy "default/p"): spec.ingress[0].fromEntities[0]:
 * unknown entity "galaxy" (...)}.
 *
 * <p>Also the checks that every reader makes on a field and report in one wording: unknown fields, lists and
 * booleans.
 */
final class Diagnostics {
    private final String origin;
    private final int document;
    private final List<ValidationError> errors;
    /** The document's kind, once read; null before. */
    String kind;
    /** The policy's name as errors show it ({@code namespace/name}, or {@code name} when cluster-wide); may be null. */
    String policy;

    Diagnostics(String origin, int document, List<ValidationError> errors) {
        this.origin = origin;
        this.document = document;
        this.errors = errors;
    }

    /** A fresh context for one item of a {@code List} document: same file, document and error list. */
    Diagnostics forListItem() {
        return new Diagnostics(origin, document, errors);
    }

    String origin() {
        return origin;
    }

    /** How many errors there are so far (in the whole file): compare before and after to see if a part had any. */
    int count() {
        return errors.size();
    }

    void error(String field, String reason) {
        errors.add(new ValidationError(origin, document, kind, policy, field, reason));
    }

    /** Reports each field of {@code node} that is not in {@code known}. */
    void unknownFields(JsonNode node, String path, Set<String> known) {
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (!known.contains(f)) {
                error(join(path, f), "unknown field \"" + f + "\" (expected " + String.join(", ", new TreeSet<>(known)) + ")");
            }
        }
    }

    /** {@code v} as a boolean; {@code dflt} when absent or (after an error) not a boolean. */
    boolean bool(JsonNode v, String path, boolean dflt) {
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) {
            error(path, "expected true or false, found \"" + v.asText() + "\"");
            return dflt;
        }
        return v.booleanValue();
    }

    /**
     * Hands each item of {@code list} (at {@code path}) that is a mapping to {@code each}, with its path
     * ({@code path[0]}), after reporting its fields outside {@code known}; any other item is an error naming
     * {@code expected}.
     */
    void eachObject(JsonNode list, String path, String expected, Set<String> known, BiConsumer<String, JsonNode> each) {
        for (int i = 0; i < list.size(); i++) {
            String p = path + "[" + i + "]";
            JsonNode item = list.get(i);
            if (!item.isObject()) {
                error(p, "expected " + expected + ", found " + nodeType(item));
                continue;
            }
            unknownFields(item, p, known);
            each.accept(p, item);
        }
    }

    /** Whether {@code v} is a list; reports it when not. */
    boolean isList(JsonNode v, String path) {
        if (v.isArray()) return true;
        error(path, "expected a list, found " + nodeType(v));
        return false;
    }
}
