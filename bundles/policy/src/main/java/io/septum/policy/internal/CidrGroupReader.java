package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.api.Label;
import io.septum.api.Labels;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads a {@code CiliumCIDRGroup} ({@code cilium.io/v2alpha1}, or {@code cilium.io/v2}) once {@link PolicyParser} has
 * found its kind: a cluster-wide, named list of CIDRs that the CIDR sets of policies name with
 * {@code cidrGroupRef}, or select by its {@code metadata.labels} with {@code cidrGroupSelector}. It allows nothing
 * by itself. For example:
 * <pre>{@code
 * metadata: {name: vpn}
 * spec: {externalCIDRs: [10.48.0.0/24, 10.16.0.0/24]}
 * }</pre>
 */
final class CidrGroupReader {
    static final String V2ALPHA1 = "cilium.io/v2alpha1";

    private CidrGroupReader() {
    }

    /**
     * Why an object of {@code kind} may not take a cluster-wide name that one of {@code other} kind has (null when it
     * may): a CIDR group and a clusterwide policy of one name would be one object to {@code policy delete}, {@code
     * stage} and the cluster's store.
     */
    static String nameClash(String kind, String other) {
        if (other == null || other.equals(kind)) return null;
        if (!kind.equals(CompiledPolicy.CIDR_GROUP) && !other.equals(CompiledPolicy.CIDR_GROUP)) return null;
        return "a " + other + " has this name: a " + kind + " may not share it (policy delete, stage and the"
                + " cluster's store name one cluster-wide object per name)";
    }

    static void read(Diagnostics diag, ObjectNode doc, String prefix, String text, List<CompiledPolicy> out) {
        String name = MetadataReader.name(diag, doc, prefix);
        if (name == null) return;
        diag.policy = name;
        if (name.length() > 253 || !CidrReader.OBJECT_NAME.matcher(name).matches()) {
            diag.error(join(prefix, "metadata.name"), "invalid name \"" + name + "\": a CiliumCIDRGroup's name is a"
                    + " Kubernetes object name (lower case letters, digits, '-' and '.', at most 253 characters)");
            return;
        }
        String path = join(prefix, "spec");
        JsonNode spec = doc.get("spec");
        if (spec == null || !spec.isObject()) {
            diag.error(path, "a CiliumCIDRGroup needs spec with externalCIDRs, found " + nodeType(spec));
            return;
        }
        int before = diag.count();
        if (!doc.path("metadata").path("annotations").path(io.septum.api.policy.PolicyModes.ANNOTATION).isMissingNode()) {
            diag.error(join(prefix, "metadata.annotations[" + io.septum.api.policy.PolicyModes.ANNOTATION + "]"),
                    "a CiliumCIDRGroup has no mode: it allows nothing by itself; stage the policies that name it");
        }
        Labels labels = labels(diag, doc.path("metadata").get("labels"), join(prefix, "metadata.labels"));
        diag.unknownFields(spec, path, Set.of("externalCIDRs"));
        JsonNode list = spec.get("externalCIDRs");
        List<Cidr> cidrs = new ArrayList<>();
        if (list == null || list.isNull()) {
            diag.error(join(path, "externalCIDRs"), "missing externalCIDRs (a list of CIDRs, which may be empty)");
        } else if (diag.isList(list, join(path, "externalCIDRs"))) {
            for (int i = 0; i < list.size(); i++) {
                Cidr c = CidrReader.cidr(diag, list.get(i), join(path, "externalCIDRs") + "[" + i + "]");
                if (c != null) cidrs.add(c);
            }
        }
        if (diag.count() > before) return;
        String shown = cidrs.stream().limit(8).map(Cidr::toString).collect(Collectors.joining(", "));
        String note = "CIDR group: " + cidrs.size() + " CIDR(s)" + (cidrs.isEmpty() ? "" : ": " + shown
                + (cidrs.size() > 8 ? ", ..." : "")) + "; policies name it with cidrGroupRef";
        out.add(new CompiledPolicy(CompiledPolicy.CIDR_GROUP, "", name, diag.origin(), 0, List.of(), List.of(),
                List.of(note), text, false, cidrs, labels));
    }

    /** {@code metadata.labels}, which {@code cidrGroupSelector} selects, as {@code k8s:} labels. */
    private static Labels labels(Diagnostics diag, JsonNode map, String path) {
        if (map == null || map.isNull()) return Labels.EMPTY;
        if (!map.isObject()) {
            diag.error(path, "expected a map of label key to value, found " + nodeType(map));
            return Labels.EMPTY;
        }
        List<Label> out = new ArrayList<>();
        map.fields().forEachRemaining(e -> {
            if (!e.getValue().isValueNode() || e.getValue().isNull()) {
                diag.error(path + "." + e.getKey(), "expected a label value string, found " + nodeType(e.getValue()));
            } else {
                out.add(new Label(Label.K8S, e.getKey(), e.getValue().asText()));
            }
        });
        return Labels.of(out);
    }
}
