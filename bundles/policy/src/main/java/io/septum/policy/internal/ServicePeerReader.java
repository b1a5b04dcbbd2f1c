package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads {@code toServices} (egress rules of Cilium's schema): each item names one of the agent's services,
 * {@code {k8sService: {serviceName: deathstar, namespace: empire}}}, and stands for its backends ({@link
 * Peer.Service}). Without a namespace it names the services of that name in every namespace, as Cilium matches it.
 * Septum's services carry no labels, so {@code k8sServiceSelector} is refused rather than selecting nothing.
 */
final class ServicePeerReader {
    static final String FIELD = "toServices";
    /** A DNS label, as Septum's service names and namespaces are. */
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    private ServicePeerReader() {
    }

    static void read(Diagnostics diag, JsonNode list, String path, List<Peer> out) {
        if (!diag.isList(list, path)) return;
        diag.eachObject(list, path, "{k8sService: {serviceName: ..., namespace: ...}}",
                Set.of("k8sService", "k8sServiceSelector"), (p, item) -> {
            if (item.has("k8sServiceSelector")) {
                diag.error(join(p, "k8sServiceSelector"), "k8sServiceSelector is not supported: Septum's services carry"
                        + " no labels to select; name each service with k8sService");
                return;
            }
            JsonNode svc = item.get("k8sService");
            if (svc == null || !svc.isObject()) {
                diag.error(join(p, "k8sService"), "expected {serviceName: ..., namespace: ...}, found "
                        + nodeType(svc));
                return;
            }
            String sp = join(p, "k8sService");
            diag.unknownFields(svc, sp, Set.of("serviceName", "namespace"));
            int before = diag.count();
            String name = label(diag, svc.get("serviceName"), join(sp, "serviceName"), true);
            String ns = label(diag, svc.get("namespace"), join(sp, "namespace"), false);
            if (diag.count() == before) out.add(new Peer.Service(ns, name, ServiceTargets.Target.NOTHING));
        });
    }

    /** The field's DNS label; null when it is absent (an error when {@code required}) or invalid (an error). */
    private static String label(Diagnostics diag, JsonNode v, String path, boolean required) {
        if (v == null || v.isNull() || (v.isTextual() && v.asText().isEmpty())) {
            if (required) diag.error(path, "missing serviceName");
            return null;
        }
        if (!v.isTextual() || !DNS_LABEL.matcher(v.asText()).matches()) {
            diag.error(path, "expected a name of lower-case letters, digits and '-' (at most 63), found "
                    + (v.isTextual() ? "\"" + v.asText() + "\"" : nodeType(v)));
            return null;
        }
        return v.asText();
    }
}
