package io.septum.api.policy;

/**
 * One reason a policy document was refused.
 *
 * @param file     where the text came from (a path, "stdin", "api")
 * @param document 1-based index of the YAML document in the file (0 when the file as a whole is bad)
 * @param kind     the document's kind, if known
 * @param policy   {@code namespace/name} of the policy, if known
 * @param field    path of the offending field, e.g. {@code spec.ingress[0].toPorts[0].ports[0].port}
 * @param reason   what is wrong and what is expected
 */
public record ValidationError(String file, int document, String kind, String policy, String field, String reason) {
    /** One line naming file, document, policy, field and reason. */
    public String message() {
        StringBuilder b = new StringBuilder();
        b.append(file == null ? "<input>" : file);
        if (document > 0) b.append(": document ").append(document);
        if (kind != null || policy != null) {
            b.append(" (");
            if (kind != null) b.append(kind);
            if (kind != null && policy != null) b.append(' ');
            if (policy != null) b.append('"').append(policy).append('"');
            b.append(')');
        }
        if (field != null && !field.isEmpty()) b.append(": ").append(field);
        b.append(": ").append(reason);
        return b.toString();
    }
}
