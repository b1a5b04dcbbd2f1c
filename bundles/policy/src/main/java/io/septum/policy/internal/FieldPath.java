package io.septum.policy.internal;

/**
 * Builds the field path that an error names, from the document's root: {@code items[2].spec.ingress[0].toPorts[1]}.
 * Each reader is handed the path of the node it reads and appends the field names it descends into; list indexes are
 * appended as {@code [i]}.
 */
final class FieldPath {
    private FieldPath() {
    }

    /** {@code prefix.field}, or either alone when the other is empty. */
    static String join(String prefix, String field) {
        if (prefix == null || prefix.isEmpty()) return field;
        if (field.isEmpty()) return prefix;
        return prefix + "." + field;
    }
}
