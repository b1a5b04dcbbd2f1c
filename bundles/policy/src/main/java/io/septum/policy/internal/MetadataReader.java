package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;
import static io.septum.policy.internal.YamlNodes.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.api.policy.PolicyModes;

/**
 * Reads what both schemas keep in {@code metadata}: the policy's name and namespace, and Septum's mode annotation.
 * For example:
 * <pre>{@code
 * metadata: {name: allow-web, namespace: shop, annotations: {policy.septum.io/mode: audit}}
 * }</pre>
 */
final class MetadataReader {
    /** The note an audit-mode policy carries. */
    static final String AUDIT_NOTE = "audit mode (policy.septum.io/mode): never drops; its denies and the default deny it"
            + " alone causes pass as AUDIT";

    private MetadataReader() {
    }

    /**
     * The annotation {@value io.septum.api.policy.PolicyModes#ANNOTATION}: true for audit, false for enforce or none,
     * null (after an error) for anything else.
     */
    static Boolean auditMode(Diagnostics diag, JsonNode doc, String prefix) {
        JsonNode v = doc.path("metadata").path("annotations").get(PolicyModes.ANNOTATION);
        if (v == null || v.isNull()) return false;
        String mode = v.isTextual() ? v.asText().trim() : null;
        if (PolicyModes.AUDIT.equals(mode)) return true;
        if (PolicyModes.ENFORCE.equals(mode)) return false;
        diag.error(join(prefix, "metadata.annotations[" + PolicyModes.ANNOTATION + "]"),
                "invalid mode " + (v.isTextual() ? "\"" + v.asText() + "\"" : nodeType(v)) + ": expected \""
                        + PolicyModes.ENFORCE + "\" or \"" + PolicyModes.AUDIT + "\"");
        return null;
    }

    /**
     * {@code metadata.name}, checked (no {@code /}, no surrounding spaces, and likewise the namespace); null after an
     * error.
     */
    static String name(Diagnostics diag, JsonNode doc, String prefix) {
        JsonNode md = doc.get("metadata");
        if (md == null || !md.isObject()) {
            diag.error(join(prefix, "metadata"), "missing metadata with a name");
            return null;
        }
        String name = text(md.get("name"));
        if (name == null || name.isBlank()) {
            diag.error(join(prefix, "metadata.name"), "missing metadata.name");
            return null;
        }
        if (name.contains("/") || !name.equals(name.trim())) {
            diag.error(join(prefix, "metadata.name"), "invalid name \"" + name + "\": no '/' or surrounding spaces");
            return null;
        }
        String ns = text(md.get("namespace"));
        if (ns != null && (ns.contains("/") || !ns.equals(ns.trim()))) {
            diag.error(join(prefix, "metadata.namespace"), "invalid namespace \"" + ns + "\"");
            return null;
        }
        return name;
    }
}
