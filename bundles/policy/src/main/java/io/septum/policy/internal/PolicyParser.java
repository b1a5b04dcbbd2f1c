package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;
import static io.septum.policy.internal.YamlNodes.present;
import static io.septum.policy.internal.YamlNodes.text;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.septum.api.Label;
import io.septum.api.Labels;
import io.septum.api.policy.Direction;
import io.septum.api.policy.Protocol;
import io.septum.api.policy.ValidationError;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Turns YAML text into compiled policies, collecting every error of every document instead of stopping at the
 * first, so that one run of {@code policy validate} shows the user everything to fix.
 */
final class PolicyParser {
    static final String AUDIT_NOTE = "audit mode (policy.septum.io/mode): never drops; its denies and the default deny it"
            + " alone causes pass as AUDIT";
    static final int MAX_PORTS = 40;
    private static final String CILIUM_API = "cilium.io/v2";
    private static final String K8S_API = "networking.k8s.io/v1";
    private static final Pattern DOC_START = Pattern.compile("^---(\\s.*)?$");
    private static final Pattern DOC_END = Pattern.compile("^\\.\\.\\.\\s*$");
    /** Kubernetes sets this label on every namespace; here it is the agent-set namespace label itself. */
    private static final String K8S_NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

    private final YAMLMapper mapper;

    PolicyParser(YAMLMapper mapper) {
        this.mapper = mapper;
    }

    static YAMLMapper newMapper() {
        YAMLMapper m = new YAMLMapper();
        m.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        return m;
    }

    /** One YAML document's text and the line (1-based) where it starts in the file. */
    record Chunk(String text, int firstLine) {
    }

    /**
     * Splits a YAML stream at its document markers. Done by hand so that each policy keeps the exact text the
     * user wrote and a syntax error in one document does not hide the errors of the others.
     */
    static List<Chunk> split(String text) {
        List<Chunk> out = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        StringBuilder cur = new StringBuilder();
        int start = 1;
        boolean explicitStart = false;
        int n = lines.length > 0 && lines[lines.length - 1].isEmpty() ? lines.length - 1 : lines.length;
        for (int i = 0; i < n; i++) {
            String line = lines[i];
            boolean start2 = DOC_START.matcher(line).matches();
            boolean end = DOC_END.matcher(line).matches();
            if (start2 || end) {
                // a comment-only prologue before the first "---" is not a document of its own
                if (!(out.isEmpty() && !explicitStart && isBlank(cur.toString()))) out.add(new Chunk(cur.toString(), start));
                cur.setLength(0);
                explicitStart = true;
                if (start2) {
                    String rest = line.substring(3).trim();
                    if (rest.isEmpty()) {
                        start = i + 2;
                    } else {
                        // "--- {a: 1}": the document begins on the marker's own line
                        start = i + 1;
                        cur.append(rest).append('\n');
                    }
                } else {
                    start = i + 2;
                }
                continue;
            }
            cur.append(line).append('\n');
        }
        out.add(new Chunk(cur.toString(), start));
        return out;
    }

    private static boolean isBlank(String chunk) {
        for (String l : chunk.split("\n")) {
            String t = l.trim();
            if (!t.isEmpty() && !t.startsWith("#")) return false;
        }
        return true;
    }

    List<CompiledPolicy> parse(String origin, String text, List<ValidationError> errors) {
        List<CompiledPolicy> out = new ArrayList<>();
        if (text == null) return out;
        List<Chunk> chunks = split(text);
        for (int i = 0; i < chunks.size(); i++) {
            Chunk c = chunks.get(i);
            Diagnostics diag = new Diagnostics(origin, i + 1, errors);
            if (isBlank(c.text())) continue;
            JsonNode doc;
            try {
                doc = mapper.readTree(c.text());
            } catch (JsonProcessingException e) {
                diag.error("", syntaxError(e, c.firstLine()));
                continue;
            } catch (RuntimeException e) {
                diag.error("", "cannot read YAML: " + e.getMessage());
                continue;
            }
            if (doc == null || doc.isMissingNode() || doc.isNull()) continue;
            document(diag, doc, "", c.text(), out);
        }
        return out;
    }

    static String syntaxError(JsonProcessingException e, int firstLine) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof MarkedYAMLException m && m.getProblemMark() != null) {
                String reason = (m.getContext() == null ? "" : m.getContext() + ": ")
                        + (m.getProblem() == null ? "" : m.getProblem());
                return "YAML syntax error at line " + (m.getProblemMark().getLine() + firstLine) + ", column "
                        + (m.getProblemMark().getColumn() + 1) + ": " + reason.replaceAll("\\s+", " ").trim();
            }
        }
        JsonLocation loc = e.getLocation();
        String problem = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
        problem = problem.replaceAll("\\s+", " ").trim();
        if (loc != null && loc.getLineNr() > 0) {
            return "YAML syntax error at line " + (loc.getLineNr() + firstLine - 1) + ", column " + loc.getColumnNr()
                    + ": " + problem;
        }
        return "YAML syntax error (line unknown): " + problem;
    }

    private void document(Diagnostics diag, JsonNode doc, String prefix, String text, List<CompiledPolicy> out) {
        if (!doc.isObject()) {
            diag.error(prefix, "expected a mapping with apiVersion and kind, found " + nodeType(doc));
            return;
        }
        String apiVersion = text(doc.get("apiVersion"));
        String kind = text(doc.get("kind"));
        diag.kind = kind;
        diag.policy = policyName(doc.get("metadata"), kind);
        if (kind == null || kind.isEmpty()) {
            diag.error(join(prefix, "kind"), "missing kind (expected CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, "
                    + "NetworkPolicy or a List of them)");
            return;
        }
        if (kind.endsWith("List") && doc.has("items")) {
            list(diag, doc, prefix, kind, apiVersion, out);
            return;
        }
        if (apiVersion == null || apiVersion.isEmpty()) {
            diag.error(join(prefix, "apiVersion"), "missing apiVersion (expected " + CILIUM_API + " or " + K8S_API + ")");
            return;
        }
        switch (kind) {
            case CompiledPolicy.CNP, CompiledPolicy.CCNP -> {
                if (!CILIUM_API.equals(apiVersion)) {
                    diag.error(join(prefix, "apiVersion"), "unsupported apiVersion \"" + apiVersion + "\" for " + kind
                            + " (expected " + CILIUM_API + ")");
                    return;
                }
                cilium(diag, (ObjectNode) doc, prefix, kind, text, out);
            }
            case CompiledPolicy.KNP -> {
                if (!K8S_API.equals(apiVersion)) {
                    diag.error(join(prefix, "apiVersion"), "unsupported apiVersion \"" + apiVersion + "\" for " + kind
                            + " (expected " + K8S_API + ")");
                    return;
                }
                networkPolicy(diag, (ObjectNode) doc, prefix, text, out);
            }
            default -> diag.error(join(prefix, "kind"), "unknown kind \"" + kind + "\" with apiVersion \"" + apiVersion
                    + "\" (expected " + CompiledPolicy.CNP + " or " + CompiledPolicy.CCNP + " (" + CILIUM_API + "), "
                    + CompiledPolicy.KNP + " (" + K8S_API + "), or a List of them)");
        }
    }

    private void list(Diagnostics diag, JsonNode doc, String prefix, String kind, String apiVersion, List<CompiledPolicy> out) {
        JsonNode items = doc.get("items");
        if (items.isNull()) return;
        if (!items.isArray()) {
            diag.error(join(prefix, "items"), "expected a list of policies, found " + nodeType(items));
            return;
        }
        String itemKind = kind.equals("List") ? null : kind.substring(0, kind.length() - 4);
        for (int i = 0; i < items.size(); i++) {
            JsonNode item = items.get(i);
            String p = join(prefix, "items[" + i + "]");
            if (item.isObject() && itemKind != null) {
                ObjectNode o = ((ObjectNode) item).deepCopy();
                if (!o.has("kind")) o.put("kind", itemKind);
                if (!o.has("apiVersion") && apiVersion != null) o.put("apiVersion", apiVersion);
                item = o;
            }
            String itemText;
            try {
                itemText = mapper.writeValueAsString(item);
            } catch (JsonProcessingException e) {
                itemText = item.toString();
            }
            Diagnostics itemDiag = diag.forListItem();
            document(itemDiag, item, p, itemText, out);
        }
    }

    // ---------------------------------------------------------------- CiliumNetworkPolicy / CCNP

    private void cilium(Diagnostics diag, ObjectNode doc, String prefix, String kind, String text, List<CompiledPolicy> out) {
        boolean clusterwide = kind.equals(CompiledPolicy.CCNP);
        String name = metadataName(diag, doc, prefix);
        String namespace = "";
        if (!clusterwide) {
            String ns = text(doc.path("metadata").get("namespace"));
            namespace = ns == null || ns.isEmpty() ? "default" : ns;
        }
        if (name == null) return;
        diag.policy = namespace.isEmpty() ? name : namespace + "/" + name;
        JsonNode spec = doc.get("spec");
        JsonNode specs = doc.get("specs");
        boolean hasSpec = spec != null && !spec.isNull();
        boolean hasSpecs = specs != null && !specs.isNull();
        if (!hasSpec && !hasSpecs) {
            diag.error(join(prefix, "spec"), "a " + kind + " needs spec (one rule) or specs (a list of rules)");
            return;
        }
        List<CompiledRule> rules = new ArrayList<>();
        int before = diag.count();
        if (hasSpec) ciliumRule(diag, spec, join(prefix, "spec"), "", namespace, rules);
        if (hasSpecs) {
            if (!specs.isArray()) {
                diag.error(join(prefix, "specs"), "expected a list of rules, found " + nodeType(specs));
            } else {
                for (int i = 0; i < specs.size(); i++) {
                    ciliumRule(diag, specs.get(i), join(prefix, "specs[" + i + "]"), "specs[" + i + "].", namespace, rules);
                }
            }
        }
        Boolean audit = auditMode(diag, doc, prefix);
        if (diag.count() > before || audit == null) return;
        List<String> notes = new ArrayList<>();
        if (audit) notes.add(AUDIT_NOTE);
        out.add(new CompiledPolicy(kind, namespace, name, diag.origin(), 0, rules, List.of(), notes, text, audit));
    }

    private static final Set<String> RULE_FIELDS = Set.of("endpointSelector", "nodeSelector", "description", "labels",
            "ingress", "egress", "ingressDeny", "egressDeny", "enableDefaultDeny", "log");

    private void ciliumRule(Diagnostics diag, JsonNode spec, String path, String sectionPrefix, String namespace,
                            List<CompiledRule> out) {
        if (!spec.isObject()) {
            diag.error(path, "expected a rule (a mapping with endpointSelector), found " + nodeType(spec));
            return;
        }
        diag.unknownFields(spec, path, RULE_FIELDS);
        boolean hasEs = present(spec, "endpointSelector");
        boolean hasNs = present(spec, "nodeSelector");
        if (hasNs) {
            diag.error(join(path, "nodeSelector"), "nodeSelector (host policies) is not supported; select endpoints with "
                    + "endpointSelector" + (hasEs ? " (and a rule may not have both)" : ""));
            return;
        }
        if (!hasEs) {
            diag.error(join(path, "endpointSelector"), "a rule needs an endpointSelector ({} selects every endpoint"
                    + (namespace.isEmpty() ? "" : " of the namespace") + ")");
            return;
        }
        Selector subject = SelectorReader.read(diag, spec.get("endpointSelector"), join(path, "endpointSelector"), false);
        if (subject == null) return;
        if (!namespace.isEmpty()) subject = subject.and(Selector.namespaceIs(namespace));
        boolean ingressDefaultDeny = true;
        boolean egressDefaultDeny = true;
        JsonNode edd = spec.get("enableDefaultDeny");
        if (edd != null && !edd.isNull()) {
            if (!edd.isObject()) {
                diag.error(join(path, "enableDefaultDeny"), "expected {ingress: true|false, egress: true|false}");
            } else {
                diag.unknownFields(edd, join(path, "enableDefaultDeny"), Set.of("ingress", "egress"));
                ingressDefaultDeny = diag.bool(edd.get("ingress"), join(path, "enableDefaultDeny.ingress"), true);
                egressDefaultDeny = diag.bool(edd.get("egress"), join(path, "enableDefaultDeny.egress"), true);
            }
        }
        JsonNode desc = spec.get("description");
        if (desc != null && !desc.isNull() && !desc.isTextual()) {
            diag.error(join(path, "description"), "expected a string, found " + nodeType(desc));
        }
        section(diag, spec, path, sectionPrefix, "ingress", Direction.INGRESS, false, subject, namespace, ingressDefaultDeny, out);
        section(diag, spec, path, sectionPrefix, "egress", Direction.EGRESS, false, subject, namespace, egressDefaultDeny, out);
        section(diag, spec, path, sectionPrefix, "ingressDeny", Direction.INGRESS, true, subject, namespace, ingressDefaultDeny, out);
        section(diag, spec, path, sectionPrefix, "egressDeny", Direction.EGRESS, true, subject, namespace, egressDefaultDeny, out);
    }

    private void section(Diagnostics diag, JsonNode spec, String path, String sectionPrefix, String name, Direction dir,
                         boolean deny, Selector subject, String namespace, boolean enforces, List<CompiledRule> out) {
        JsonNode list = spec.get(name);
        if (list == null || list.isNull()) return;
        String p = join(path, name);
        if (!list.isArray()) {
            diag.error(p, "expected a list of rules, found " + nodeType(list));
            return;
        }
        for (int i = 0; i < list.size(); i++) {
            CompiledRule r = peerRule(diag, list.get(i), p + "[" + i + "]", sectionPrefix + name, i, dir, deny, subject,
                    namespace, enforces);
            if (r != null) out.add(r);
        }
    }

    private static final Set<String> UNSUPPORTED_PEERS = Set.of("fromNodes", "toNodes", "fromGroups", "toGroups",
            "toServices", "toFQDNs", "icmps", "authentication");

    private CompiledRule peerRule(Diagnostics diag, JsonNode r, String path, String section, int index, Direction dir,
                                  boolean deny, Selector subject, String namespace, boolean enforces) {
        if (!r.isObject()) {
            diag.error(path, "expected a rule (a mapping), found " + nodeType(r));
            return null;
        }
        String fromTo = dir == Direction.INGRESS ? "from" : "to";
        String endpointsF = fromTo + "Endpoints";
        String requiresF = fromTo + "Requires";
        String entitiesF = fromTo + "Entities";
        String cidrF = fromTo + "CIDR";
        String cidrSetF = fromTo + "CIDRSet";
        Set<String> known = Set.of(endpointsF, requiresF, entitiesF, cidrF, cidrSetF, "toPorts");
        int errorsBefore = diag.count();
        Iterator<String> names = r.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (known.contains(f)) continue;
            if (UNSUPPORTED_PEERS.contains(f)) {
                diag.error(join(path, f), f + " is not supported yet");
            } else {
                diag.error(join(path, f), "unknown field \"" + f + "\" (expected " + String.join(", ",
                        new TreeSet<>(known)) + ")");
            }
        }
        // Cilium refuses several kinds of L3 peer in one rule; accepting them would let one file mean different
        // things here and there
        List<String> l3Kinds = new ArrayList<>();
        for (String f : List.of(endpointsF, entitiesF, cidrF, cidrSetF)) {
            JsonNode v = r.get(f);
            if (v != null && v.isArray() && v.size() > 0) l3Kinds.add(f);
        }
        if (l3Kinds.size() > 1) {
            diag.error(path, "combining " + String.join(" and ", l3Kinds) + " in one rule is not supported (as in "
                    + "Cilium): write one rule per kind of peer");
        }
        List<Peer> peers = new ArrayList<>();
        boolean l3 = false;
        JsonNode eps = r.get(endpointsF);
        if (eps != null && !eps.isNull()) {
            l3 = true;
            if (diag.isList(eps, join(path, endpointsF))) {
                for (int i = 0; i < eps.size(); i++) {
                    Selector s = SelectorReader.read(diag, eps.get(i), join(path, endpointsF) + "[" + i + "]", false);
                    if (s == null) continue;
                    if (!namespace.isEmpty() && !s.namesNamespace() && !s.namesReserved()) {
                        s = s.and(Selector.namespaceIs(namespace));
                    } else if (namespace.isEmpty() && !s.namesNamespace() && !s.namesReserved()) {
                        // a cluster-wide selector that names no namespace still selects only endpoints
                        s = s.and(Selector.namespaceExists());
                    }
                    peers.add(new Peer.Endpoints(s));
                }
            }
        }
        List<Selector> requires = new ArrayList<>();
        JsonNode req = r.get(requiresF);
        if (req != null && !req.isNull() && diag.isList(req, join(path, requiresF))) {
            for (int i = 0; i < req.size(); i++) {
                Selector s = SelectorReader.read(diag, req.get(i), join(path, requiresF) + "[" + i + "]", false);
                if (s != null) requires.add(s);
            }
        }
        JsonNode ent = r.get(entitiesF);
        if (ent != null && !ent.isNull()) {
            l3 = true;
            if (diag.isList(ent, join(path, entitiesF))) {
                for (int i = 0; i < ent.size(); i++) {
                    String e = text(ent.get(i));
                    String f = join(path, entitiesF) + "[" + i + "]";
                    if (e == null || !ent.get(i).isValueNode()) {
                        diag.error(f, "expected an entity name, found " + nodeType(ent.get(i)));
                    } else if (!Peer.Entity.NAMES.contains(e)) {
                        diag.error(f, "unknown entity \"" + e + "\" (expected one of " + String.join(", ",
                                new TreeSet<>(Peer.Entity.NAMES)) + ")");
                    } else {
                        peers.add(new Peer.Entity(e));
                    }
                }
            }
        }
        JsonNode cidrs = r.get(cidrF);
        if (cidrs != null && !cidrs.isNull()) {
            l3 = true;
            if (diag.isList(cidrs, join(path, cidrF))) {
                for (int i = 0; i < cidrs.size(); i++) {
                    Cidr c = CidrReader.cidr(diag, cidrs.get(i), join(path, cidrF) + "[" + i + "]");
                    if (c != null) peers.add(new Peer.CidrSet(c, List.of()));
                }
            }
        }
        JsonNode sets = r.get(cidrSetF);
        if (sets != null && !sets.isNull()) {
            l3 = true;
            if (diag.isList(sets, join(path, cidrSetF))) {
                for (int i = 0; i < sets.size(); i++) {
                    Peer p = CidrReader.cidrSet(diag, sets.get(i), join(path, cidrSetF) + "[" + i + "]", "cidr");
                    if (p != null) peers.add(p);
                }
            }
        }
        List<PortRule> ports = new ArrayList<>();
        JsonNode tp = r.get("toPorts");
        boolean hasPorts = tp != null && !tp.isNull();
        if (hasPorts && diag.isList(tp, join(path, "toPorts"))) {
            for (int i = 0; i < tp.size(); i++) {
                PortRule pr = portRule(diag, tp.get(i), join(path, "toPorts") + "[" + i + "]", section, deny, i);
                if (pr != null) ports.add(pr);
            }
        }
        if (diag.count() > errorsBefore) return null;
        // no L3 field at all: a rule with ports applies to every peer; an empty rule ({}) allows nothing
        if (!l3 && hasPorts) peers.add(new Peer.Any());
        if (hasPorts && ports.isEmpty()) ports.add(PortRule.ALL);
        return new CompiledRule(section, index, dir, deny, subject, peers, requires, ports, enforces);
    }

    private static final Set<String> PORT_RULE_FIELDS = Set.of("ports", "rules");
    private static final Set<String> UNSUPPORTED_PORT_RULE = Set.of("originatingTLS", "terminatingTLS", "serverNames",
            "listener");

    private PortRule portRule(Diagnostics diag, JsonNode pr, String path, String section, boolean deny, int index) {
        if (!pr.isObject()) {
            diag.error(path, "expected {ports: [...], rules: {...}}, found " + nodeType(pr));
            return null;
        }
        Iterator<String> names = pr.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (PORT_RULE_FIELDS.contains(f)) continue;
            diag.error(join(path, f), UNSUPPORTED_PORT_RULE.contains(f) ? f + " is not supported yet"
                    : "unknown field \"" + f + "\" (expected ports, rules)");
        }
        List<PortSpec> specs = new ArrayList<>();
        JsonNode ports = pr.get("ports");
        if (ports != null && !ports.isNull() && diag.isList(ports, join(path, "ports"))) {
            if (ports.size() > MAX_PORTS) {
                diag.error(join(path, "ports"), "too many ports (" + ports.size() + "): at most " + MAX_PORTS
                        + " per rule; split them over several toPorts entries or use endPort ranges");
            }
            for (int i = 0; i < ports.size(); i++) {
                PortSpec s = PortReader.read(diag, ports.get(i), join(path, "ports") + "[" + i + "]", PortReader.CILIUM);
                if (s != null) specs.add(s);
            }
        }
        boolean l7 = false;
        List<HttpRule> http = new ArrayList<>();
        JsonNode rules = pr.get("rules");
        if (rules != null && !rules.isNull()) {
            String rp = join(path, "rules");
            if (deny) {
                diag.error(rp, "L7 rules are not allowed in " + section.substring(section.lastIndexOf('.') + 1)
                        + ": a deny rule can only match at L3/L4; remove rules or move them to an allow section");
                return null;
            }
            l7 = HttpRuleReader.read(diag, rules, rp, http);
            if (l7) {
                if (specs.isEmpty()) {
                    diag.error(rp, "L7 rules need a port: add ports with a TCP port (port 0/all ports is not allowed)");
                }
                for (int i = 0; i < specs.size(); i++) {
                    PortSpec s = specs.get(i);
                    String f = join(path, "ports") + "[" + i + "]";
                    if (s.port() == 0) {
                        diag.error(join(f, "port"), "L7 rules cannot apply to port 0 (all ports): name a TCP port");
                    }
                    if (s.protocol() == Protocol.UDP || s.protocol() == Protocol.SCTP) {
                        diag.error(join(f, "protocol"), "L7 rules can only apply to TCP, not \"" + s.protocol() + "\"");
                    }
                }
            }
        }
        if (specs.isEmpty()) specs.add(PortSpec.ALL);
        return new PortRule(index, specs, l7, http);
    }

    // ---------------------------------------------------------------- Kubernetes NetworkPolicy

    private static final Set<String> KNP_SPEC_FIELDS = Set.of("podSelector", "policyTypes", "ingress", "egress");

    private void networkPolicy(Diagnostics diag, ObjectNode doc, String prefix, String text, List<CompiledPolicy> out) {
        String name = metadataName(diag, doc, prefix);
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
        if (pt != null && !pt.isNull() && pt.size() > 0) {
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
        Boolean audit = auditMode(diag, doc, prefix);
        if (audit == null) return;
        out.add(new CompiledPolicy(CompiledPolicy.KNP, namespace, name, diag.origin(), 0, rules, isolations,
                audit ? List.of(AUDIT_NOTE) : List.of(), text, audit));
    }

    private CompiledRule k8sRule(Diagnostics diag, JsonNode r, String path, String section, int index, Direction dir,
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

    private Peer k8sPeer(Diagnostics diag, JsonNode p, String path, String namespace) {
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
        if (ip) return CidrReader.cidrSet(diag, p.get("ipBlock"), join(path, "ipBlock"), "cidr");
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

    // ---------------------------------------------------------------- helpers

    /**
     * The annotation {@value io.septum.api.policy.PolicyModes#ANNOTATION}: true for audit, false for enforce or none,
     * null (after an error) for anything else.
     */
    private Boolean auditMode(Diagnostics diag, JsonNode doc, String prefix) {
        JsonNode v = doc.path("metadata").path("annotations").get(io.septum.api.policy.PolicyModes.ANNOTATION);
        if (v == null || v.isNull()) return false;
        String mode = v.isTextual() ? v.asText().trim() : null;
        if (io.septum.api.policy.PolicyModes.AUDIT.equals(mode)) return true;
        if (io.septum.api.policy.PolicyModes.ENFORCE.equals(mode)) return false;
        diag.error(join(prefix, "metadata.annotations[" + io.septum.api.policy.PolicyModes.ANNOTATION + "]"),
                "invalid mode " + (v.isTextual() ? "\"" + v.asText() + "\"" : nodeType(v)) + ": expected \""
                        + io.septum.api.policy.PolicyModes.ENFORCE + "\" or \"" + io.septum.api.policy.PolicyModes.AUDIT + "\"");
        return null;
    }

    private String metadataName(Diagnostics diag, JsonNode doc, String prefix) {
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

    private static String policyName(JsonNode md, String kind) {
        if (md == null || !md.isObject()) return null;
        String name = text(md.get("name"));
        if (name == null) return null;
        if (CompiledPolicy.CCNP.equals(kind)) return name;
        String ns = text(md.get("namespace"));
        return (ns == null || ns.isEmpty() ? "default" : ns) + "/" + name;
    }
}
