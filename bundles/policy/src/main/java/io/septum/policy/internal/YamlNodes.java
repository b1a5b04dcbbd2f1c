package io.septum.policy.internal;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Small questions about a parsed YAML node that every reader asks: is the field there, what is its text, and how to
 * name what was found in an error ({@code expected a list, found "80"}).
 */
final class YamlNodes {
    private YamlNodes() {
    }

    /** Whether {@code field} is set to something other than null. */
    static boolean present(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v != null && !v.isNull();
    }

    /** The text of a scalar; null when absent, null or a mapping or list. */
    static String text(JsonNode v) {
        return v == null || v.isNull() || !v.isValueNode() ? null : v.asText();
    }

    /** What was found, for error messages: {@code nothing}, {@code a mapping}, {@code a list} or the quoted scalar. */
    static String nodeType(JsonNode v) {
        if (v == null || v.isNull()) return "nothing";
        if (v.isObject()) return "a mapping";
        if (v.isArray()) return "a list";
        return "\"" + v.asText() + "\"";
    }
}
