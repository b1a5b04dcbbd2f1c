package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;
import static io.septum.policy.internal.YamlNodes.present;
import static io.septum.policy.internal.YamlNodes.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.policy.Direction;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads a Kubernetes NetworkPolicy ({@code networking.k8s.io/v1}) once {@link PolicyParser} has found its kind:
 * {@code spec.podSelector} (scoped to the policy's namespace), {@code policyTypes} (by default Ingress, and Egress
 * when there are egress rules), and {@code ingress[].from} / {@code egress[].to} peers, each a {@code podSelector}
 * and/or {@code namespaceSelector} or an {@code ipBlock}, with {@code ports} ({@link PortReader#KUBERNETES}). For
 * example:
 * <pre>{@code
 * spec: {podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 5432}]}]}
 * }</pre>
 * A direction that the policy selects but allows nothing in becomes an isolation rule (default deny).
 */
final class K8sPolicyReader {
    /** Kubernetes sets this label on every namespace; here it is the agent-set namespace label itself. */
    private static final String K8S_NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

    private K8sPolicyReader() {
    }

    private static final Set<String> KNP_SPEC_FIELDS = Set.of("podSelector", "policyTypes", "ingress", "egress");

    static void read(Diagnostics diag, ObjectNode doc, String prefix, String text, List<CompiledPolicy> out) {
        String name = MetadataReader.name(diag, doc, prefix);
        String ns = text(doc.path("metadata").get("namespace"));
        String namespace = ns == null || ns.isEmpty() ? "default" : ns;
        if (name == null) return;
        diag.policy = namespace + "/" + name;
        String sp = join(prefix, "spec");
        JsonNode spec = doc.get("spec");
        if (spec == null || spec.isNull()) {
            diag.error(sp, "a NetworkPolicy needs a spec with podSelector");
            return;
        }
        if (!spec.isObject()) {
            diag.error(sp, "expected a mapping, found " + nodeType(spec));
            return;
        }
        int errs = diag.count();
        diag.unknownFields(spec, sp, KNP_SPEC_FIELDS);
        Selector subject = SelectorReader.read(diag, spec.get("podSelector"), join(sp, "podSelector"), true);
        if (subject != null) subject = subject.and(Selector.namespaceIs(namespace));
        JsonNode ingress = spec.get("ingress");
        JsonNode egress = spec.get("egress");
        Set<Direction> types = new LinkedHashSet<>();
        JsonNode pt = spec.get("policyTypes");
        // a scalar (policyTypes: Egress) is refused, as the API server's schema does: ignoring it would drop the
        // egress isolation the author asked for
        if (pt != null && !pt.isNull() && (!pt.isArray() || pt.size() > 0)) {
            if (diag.isList(pt, join(sp, "policyTypes"))) {
                for (int i = 0; i < pt.size(); i++) {
                    String t = text(pt.get(i));
                    if ("Ingress".equals(t)) types.add(Direction.INGRESS);
                    else if ("Egress".equals(t)) types.add(Direction.EGRESS);
                    else diag.error(join(sp, "policyTypes") + "[" + i + "]", "unknown policy type \"" + t
                                + "\" (expected Ingress or Egress)");
                }
            }
        } else {
            types.add(Direction.INGRESS);
            if (egress != null && egress.isArray() && egress.size() > 0) types.add(Direction.EGRESS);
        }
        List<CompiledRule> rules = new ArrayList<>();
        List<CompiledRule> isolations = new ArrayList<>();
        for (Direction d : Direction.values()) {
            String section = d == Direction.INGRESS ? "ingress" : "egress";
            JsonNode list = d == Direction.INGRESS ? ingress : egress;
            List<CompiledRule> sectionRules = new ArrayList<>();
            if (list != null && !list.isNull() && diag.isList(list, join(sp, section))) {
                for (int i = 0; i < list.size(); i++) {
                    CompiledRule r = k8sRule(diag, list.get(i), join(sp, section) + "[" + i + "]", section, i, d,
                            subject, namespace);
                    if (r != null) sectionRules.add(r);
                }
            }
            if (!types.contains(d) || subject == null) continue;
            rules.addAll(sectionRules);
            if (sectionRules.isEmpty()) {
                isolations.add(new CompiledRule(section, -1, d, false, subject, List.of(), List.of(), List.of(), true));
            }
        }
        if (diag.count() > errs) return;
        Boolean audit = MetadataReader.auditMode(diag, doc, prefix);
        if (audit == null) return;
        out.add(new CompiledPolicy(CompiledPolicy.KNP, namespace, name, diag.origin(), 0, rules, isolations,
                audit ? List.of(MetadataReader.AUDIT_NOTE) : List.of(), text, audit));
    }

    private static CompiledRule k8sRule(Diagnostics diag, JsonNode r, String path, String section, int index, Direction dir,
                                 Selector subject, String namespace) {
        if (!r.isObject()) {
            diag.error(path, "expected a rule (a mapping), found " + nodeType(r));
            return null;
        }
        String peersField = dir == Direction.INGRESS ? "from" : "to";
        diag.unknownFields(r, path, Set.of(peersField, "ports"));
        int errs = diag.count();
        List<Peer> peers = new ArrayList<>();
        JsonNode from = r.get(peersField);
        if (from == null || from.isNull() || (from.isArray() && from.isEmpty())) {
            peers.add(new Peer.Any());
        } else if (diag.isList(from, join(path, peersField))) {
            for (int i = 0; i < from.size(); i++) {
                Peer p = k8sPeer(diag, from.get(i), join(path, peersField) + "[" + i + "]", namespace);
                if (p != null) peers.add(p);
            }
        }
        List<PortSpec> specs = new ArrayList<>();
        JsonNode ports = r.get("ports");
        if (ports != null && !ports.isNull() && diag.isList(ports, join(path, "ports"))) {
            for (int i = 0; i < ports.size(); i++) {
                PortSpec s = PortReader.read(diag, ports.get(i), join(path, "ports") + "[" + i + "]", PortReader.KUBERNETES);
                if (s != null) specs.add(s);
            }
        }
        if (diag.count() > errs || subject == null) return null;
        List<PortRule> portRules = specs.isEmpty() ? List.of() : List.of(new PortRule(0, specs, false, List.of()));
        return new CompiledRule(section, index, dir, false, subject, peers, List.of(), portRules, true);
    }

    private static Peer k8sPeer(Diagnostics diag, JsonNode p, String path, String namespace) {
        if (!p.isObject()) {
            diag.error(path, "expected a peer {podSelector, namespaceSelector} or {ipBlock}, found " + nodeType(p));
            return null;
        }
        diag.unknownFields(p, path, Set.of("podSelector", "namespaceSelector", "ipBlock"));
        boolean pod = present(p, "podSelector");
        boolean nsSel = present(p, "namespaceSelector");
        boolean ip = present(p, "ipBlock");
        if (!pod && !nsSel && !ip) {
            diag.error(path, "a peer needs podSelector, namespaceSelector or ipBlock (an empty peer selects nothing; "
                    + "omit from/to to allow every peer)");
            return null;
        }
        if (ip && (pod || nsSel)) {
            diag.error(path, "ipBlock may not be combined with podSelector or namespaceSelector in one peer: "
                    + "make them separate peers");
            return null;
        }
        if (ip) return CidrReader.cidrSet(diag, p.get("ipBlock"), join(path, "ipBlock"), "cidr", false);
        List<Selector.Requirement> reqs = new ArrayList<>();
        if (pod) {
            Selector s = SelectorReader.read(diag, p.get("podSelector"), join(path, "podSelector"), true);
            if (s == null) return null;
            reqs.addAll(s.requirements());
        }
        if (nsSel) {
            Selector s = SelectorReader.read(diag, p.get("namespaceSelector"), join(path, "namespaceSelector"), true);
            if (s == null) return null;
            for (Selector.Requirement r : s.requirements()) {
                if (r.key().equals(K8S_NAMESPACE_NAME_LABEL)) {
                    reqs.add(new Selector.Requirement(Label.K8S, Labels.NAMESPACE_KEY, r.op(), r.values()));
                } else {
                    reqs.add(new Selector.Requirement(Label.K8S, Labels.NAMESPACE_LABELS_PREFIX + r.key(), r.op(),
                            r.values()));
                }
            }
            reqs.add(Selector.namespaceExists());
        } else {
            reqs.add(Selector.namespaceIs(namespace));
        }
        return new Peer.Endpoints(new Selector(reqs));
    }

}
