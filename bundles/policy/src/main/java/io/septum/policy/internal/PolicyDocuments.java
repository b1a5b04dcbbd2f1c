package io.septum.policy.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.septum.api.policy.PolicyModes;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Edits of one stored policy document that the repository makes on the user's behalf (stage, promote). */
final class PolicyDocuments {
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            // a port stays a string ("80"), as Cilium writes it
            .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
            .build();
    /** Every string quoted: for a document whose minimal quoting would not read back the same. */
    private static final YAMLMapper QUOTED = YAMLMapper.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .build();

    private PolicyDocuments() {
    }

    /**
     * The document with its {@value PolicyModes#ANNOTATION} annotation set to {@code mode} ({@value PolicyModes#ENFORCE}
     * removes it: enforcing is the default), written from its parsed form; null when it already is in that mode.
     */
    static String withMode(String document, String mode) {
        try {
            JsonNode doc = YAML.readTree(document);
            if (!(doc instanceof ObjectNode root) || !(root.get("metadata") instanceof ObjectNode md)) {
                throw new IllegalStateException("the stored document has no metadata to annotate");
            }
            JsonNode ann = md.get("annotations");
            JsonNode now = ann == null ? null : ann.get(PolicyModes.ANNOTATION);
            boolean audit = now != null && PolicyModes.AUDIT.equals(now.asText().trim());
            if (audit == PolicyModes.AUDIT.equals(mode)) return null;
            if (PolicyModes.AUDIT.equals(mode)) {
                ObjectNode a = ann instanceof ObjectNode o ? o : md.putObject("annotations");
                a.put(PolicyModes.ANNOTATION, PolicyModes.AUDIT);
            } else {
                ((ObjectNode) ann).remove(PolicyModes.ANNOTATION);
                if (ann.isEmpty()) md.remove("annotations");
            }
            // minimal quoting reads "1e3", "0x1F" or ".inf" back as numbers: keep it only when it reads back the same
            String minimal = YAML.writeValueAsString(root);
            return readsBack(minimal, root) ? minimal : QUOTED.writeValueAsString(root);
        } catch (IOException e) {
            throw new UncheckedIOException("the stored document cannot be read back: " + e.getMessage(), e);
        }
    }

    private static boolean readsBack(String text, JsonNode tree) {
        try {
            return YAML.readTree(text).equals(tree);
        } catch (IOException e) {
            return false; // ".inf" unquoted is no number Jackson reads
        }
    }
}
