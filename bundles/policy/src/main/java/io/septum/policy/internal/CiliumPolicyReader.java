package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;
import static io.septum.policy.internal.YamlNodes.present;
import static io.septum.policy.internal.YamlNodes.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.api.policy.Direction;
import io.septum.api.policy.Protocol;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads a CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy ({@code cilium.io/v2}) once {@link PolicyParser} has
 * found its kind: {@code spec} (one rule) and/or {@code specs} (a list of rules), each with an
 * {@code endpointSelector}, {@code enableDefaultDeny} and the sections {@code ingress}, {@code egress},
 * {@code ingressDeny} and {@code egressDeny}. In a section's rule the peers are {@code from/toEndpoints} (scoped to the
 * policy's namespace, or in a CCNP to endpoints of any namespace, unless they name a namespace or a reserved label),
 * {@code from/toEntities}, {@code from/toCIDR}, {@code from/toCIDRSet} (one kind per rule, as in Cilium) and
 * {@code fromRequires/toRequires}; {@code toPorts} holds ports ({@link PortReader#CILIUM}) and L7 rules
 * ({@link HttpRuleReader}). For example:
 * <pre>{@code
 * spec: {endpointSelector: {matchLabels: {app: web}}, ingress: [{fromEntities: [world], toPorts: [{ports: [{port: "80"}]}]}]}
 * }</pre>
 * {@code toFQDNs} ({@link DnsRuleReader}) selects the addresses that proxied lookups of matching names returned, and
 * {@code toServices} ({@link ServicePeerReader}) the backends of the agent's services.
 * A CCNP rule may select the host instead, with a {@code nodeSelector} (a host policy, without L7 rules or DNS
 * names). The peers Septum does not enforce yet ({@code toNodes}, ...) are errors, never silently ignored.
 */
final class CiliumPolicyReader {
    /** The most ports one {@code toPorts} entry may list. */
    static final int MAX_PORTS = 40;

    private CiliumPolicyReader() {
    }

    static void read(Diagnostics diag, ObjectNode doc, String prefix, String kind, String text, List<CompiledPolicy> out) {
        boolean clusterwide = kind.equals(CompiledPolicy.CCNP);
        String name = MetadataReader.name(diag, doc, prefix);
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
        Boolean audit = MetadataReader.auditMode(diag, doc, prefix);
        if (diag.count() > before || audit == null) return;
        List<String> notes = new ArrayList<>();
        if (audit) notes.add(MetadataReader.AUDIT_NOTE);
        out.add(new CompiledPolicy(kind, namespace, name, diag.origin(), 0, rules, List.of(), notes, text, audit));
    }

    private static final Set<String> RULE_FIELDS = Set.of("endpointSelector", "nodeSelector", "description", "labels",
            "ingress", "egress", "ingressDeny", "egressDeny", "enableDefaultDeny", "log");

    private static void ciliumRule(Diagnostics diag, JsonNode spec, String path, String sectionPrefix, String namespace,
                            List<CompiledRule> out) {
        if (!spec.isObject()) {
            diag.error(path, "expected a rule (a mapping with endpointSelector), found " + nodeType(spec));
            return;
        }
        diag.unknownFields(spec, path, RULE_FIELDS);
        boolean hasEs = present(spec, "endpointSelector");
        boolean hasNs = present(spec, "nodeSelector");
        if (hasNs && hasEs) {
            diag.error(path, "a rule has either an endpointSelector (endpoints) or a nodeSelector (the host), not both");
            return;
        }
        if (hasNs && !namespace.isEmpty()) {
            diag.error(join(path, "nodeSelector"), "nodeSelector (a host policy) is only allowed in a"
                    + " CiliumClusterwideNetworkPolicy, as in Cilium: a node belongs to no namespace");
            return;
        }
        if (!hasEs && !hasNs) {
            diag.error(join(path, "endpointSelector"), "a rule needs an endpointSelector ({} selects every endpoint"
                    + (namespace.isEmpty() ? "" : " of the namespace") + ")"
                    + (namespace.isEmpty() ? " or a nodeSelector (the host)" : ""));
            return;
        }
        String selectorField = hasNs ? "nodeSelector" : "endpointSelector";
        Selector subject = SelectorReader.read(diag, spec.get(selectorField), join(path, selectorField), false);
        if (subject == null) return;
        // a host policy selects the host endpoint (reserved:host plus the node's labels) and nothing else; an
        // endpointSelector never selects it, not even one that names reserved:host (as in Cilium: host policies have
        // their own checks, such as no L7 rules)
        subject = subject.and(hasNs ? Selector.isHost() : Selector.notHost());
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
        int first = out.size();
        section(diag, spec, path, sectionPrefix, "ingress", Direction.INGRESS, false, subject, namespace, ingressDefaultDeny, out);
        section(diag, spec, path, sectionPrefix, "egress", Direction.EGRESS, false, subject, namespace, egressDefaultDeny, out);
        section(diag, spec, path, sectionPrefix, "ingressDeny", Direction.INGRESS, true, subject, namespace, ingressDefaultDeny, out);
        section(diag, spec, path, sectionPrefix, "egressDeny", Direction.EGRESS, true, subject, namespace, egressDefaultDeny, out);
        if (hasNs) hostRuleLimits(diag, path, sectionPrefix, out.subList(first, out.size()));
    }

    /**
     * What a host policy cannot do, as in Cilium's host firewall: L7 rules (no proxy redirection on the host's
     * interfaces) and DNS names (the DNS proxy judges endpoints' queries, not the host's).
     */
    private static void hostRuleLimits(Diagnostics diag, String path, String sectionPrefix, List<CompiledRule> rules) {
        for (CompiledRule r : rules) {
            String rp = join(path, r.section().substring(sectionPrefix.length())) + "[" + r.index() + "]";
            if (r.hasL7()) {
                diag.error(join(rp, "toPorts"), "L7 rules (http, dns) are not supported in host policies (nodeSelector),"
                        + " as in Cilium: the host's traffic is not redirected to a proxy");
            }
            if (r.peers().stream().anyMatch(p -> p instanceof Peer.Fqdns)) {
                diag.error(join(rp, "toFQDNs"), "toFQDNs is not supported in host policies (nodeSelector): the DNS"
                        + " proxy sees endpoints' lookups, not the host's");
            }
        }
    }

    private static void section(Diagnostics diag, JsonNode spec, String path, String sectionPrefix, String name, Direction dir,
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
            "authentication");

    private static CompiledRule peerRule(Diagnostics diag, JsonNode r, String path, String section, int index, Direction dir,
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
        String fqdnsF = dir == Direction.EGRESS ? "toFQDNs" : null;
        Set<String> known = fqdnsF == null ? Set.of(endpointsF, requiresF, entitiesF, cidrF, cidrSetF, "toPorts", "icmps")
                : Set.of(endpointsF, requiresF, entitiesF, cidrF, cidrSetF, fqdnsF, ServicePeerReader.FIELD, "toPorts",
                "icmps");
        int errorsBefore = diag.count();
        Iterator<String> names = r.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (known.contains(f) && !((f.equals("toFQDNs") || f.equals(ServicePeerReader.FIELD)) && deny)) continue;
            if (f.equals("toFQDNs") && deny) {
                // Cilium refuses it too: a deny of names would only hold for addresses already looked up
                diag.error(join(path, f), "toFQDNs is not allowed in egressDeny (as in Cilium): deny the addresses with"
                        + " toCIDR or toCIDRSet, or leave the names out of the allow rules");
            } else if (f.equals(ServicePeerReader.FIELD) && deny) {
                // Cilium resolves toServices in egress rules only: there it would deny nothing
                diag.error(join(path, f), "toServices is not supported in egressDeny (Cilium resolves it in egress"
                        + " rules only): deny the backends with toEndpoints or toCIDR");
            } else if (f.equals("fromFQDNs") || f.equals("toFQDNs")) {
                diag.error(join(path, f), f + " is not allowed in " + section.substring(section.lastIndexOf('.') + 1)
                        + ": DNS names select destinations, in egress rules");
            } else if (f.equals(ServicePeerReader.FIELD)) {
                diag.error(join(path, f), f + " is not allowed in " + section.substring(section.lastIndexOf('.') + 1)
                        + ": services select destinations, in egress rules");
            } else if (UNSUPPORTED_PEERS.contains(f)) {
                diag.error(join(path, f), f + " is not supported yet");
            } else {
                diag.error(join(path, f), "unknown field \"" + f + "\" (expected " + String.join(", ",
                        new TreeSet<>(known)) + ")");
            }
        }
        // Cilium refuses several kinds of L3 peer in one rule; accepting them would let one file mean different
        // things here and there
        List<String> l3Kinds = new ArrayList<>();
        for (String f : List.of(endpointsF, entitiesF, cidrF, cidrSetF, "toFQDNs", ServicePeerReader.FIELD)) {
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
                    Peer p = CidrReader.cidrSet(diag, sets.get(i), join(path, cidrSetF) + "[" + i + "]", "cidr", true);
                    if (p != null) peers.add(p);
                }
            }
        }
        JsonNode fqdns = fqdnsF == null || deny ? null : r.get(fqdnsF);
        if (fqdns != null && !fqdns.isNull()) {
            l3 = true;
            List<FqdnMatcher> matchers = new ArrayList<>();
            if (DnsRuleReader.read(diag, fqdns, join(path, fqdnsF), matchers)) peers.add(new Peer.Fqdns(matchers));
        }
        JsonNode services = fqdnsF == null || deny ? null : r.get(ServicePeerReader.FIELD);
        if (services != null && !services.isNull()) {
            l3 = true;
            ServicePeerReader.read(diag, services, join(path, ServicePeerReader.FIELD), peers);
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
        JsonNode icmps = r.get("icmps");
        boolean hasIcmps = icmps != null && !icmps.isNull();
        if (hasIcmps) {
            if (hasPorts) {
                // as Cilium: one rule holds either, so that a reader never wonders whether they add up or narrow
                diag.error(join(path, "icmps"), "icmps and toPorts cannot be in one rule (as in Cilium): write a"
                        + " separate rule for the ports");
            }
            PortRule icmp = IcmpReader.read(diag, icmps, join(path, "icmps"));
            if (icmp != null) ports.add(icmp);
        }
        if (diag.count() > errorsBefore) return null;
        // no L3 field at all: a rule with ports applies to every peer; an empty rule ({}) allows nothing
        if (!l3 && (hasPorts || hasIcmps)) peers.add(new Peer.Any());
        if (hasPorts && ports.isEmpty()) ports.add(PortRule.ALL);
        return new CompiledRule(section, index, dir, deny, subject, peers, requires, ports, enforces);
    }

    private static final Set<String> PORT_RULE_FIELDS = Set.of("ports", "rules");
    private static final Set<String> UNSUPPORTED_PORT_RULE = Set.of("originatingTLS", "terminatingTLS", "serverNames",
            "listener");

    private static PortRule portRule(Diagnostics diag, JsonNode pr, String path, String section, boolean deny, int index) {
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
        List<FqdnMatcher> dns = new ArrayList<>();
        boolean dnsRules = false;
        JsonNode rules = pr.get("rules");
        if (rules != null && !rules.isNull()) {
            String rp = join(path, "rules");
            if (deny) {
                diag.error(rp, "L7 rules are not allowed in " + section.substring(section.lastIndexOf('.') + 1)
                        + ": a deny rule can only match at L3/L4; remove rules or move them to an allow section");
                return null;
            }
            JsonNode dnsNode = rules.isObject() ? rules.get("dns") : null;
            dnsRules = dnsNode != null && !dnsNode.isNull();
            if (dnsRules && !section.endsWith("egress")) {
                diag.error(join(rp, "dns"), "DNS rules apply to egress only (the DNS proxy judges an endpoint's own"
                        + " queries): move them to an egress rule");
            }
            l7 = HttpRuleReader.read(diag, rules, rp, http);
            if (dnsRules) l7 = DnsRuleReader.read(diag, dnsNode, join(rp, "dns"), dns);
            if (l7) {
                String kind = dnsRules ? "DNS" : "HTTP";
                Protocol proxied = dnsRules ? Protocol.UDP : Protocol.TCP;
                if (specs.isEmpty()) {
                    diag.error(rp, "L7 rules need a port: add ports with a " + proxied + " port (port 0/all ports is"
                            + " not allowed)");
                }
                for (int i = 0; i < specs.size(); i++) {
                    PortSpec s = specs.get(i);
                    String f = join(path, "ports") + "[" + i + "]";
                    // a named port carries L7 rules too: it resolves on each destination, in the proxies as in the
                    // datapath (EndpointSnapshot.namedPortsOf gives them the names of other nodes' endpoints)
                    if (!s.named() && s.port() == 0) {
                        diag.error(join(f, "port"), "L7 rules cannot apply to port 0 (all ports): name a " + proxied
                                + " port");
                    }
                    if (s.protocol() != Protocol.ANY && s.protocol() != proxied) {
                        diag.error(join(f, "protocol"), kind + " rules can only apply to " + proxied + " (the "
                                + kind + " proxy's protocol), not \"" + s.protocol() + "\"");
                    }
                }
            }
        }
        if (specs.isEmpty()) specs.add(PortSpec.ALL);
        return new PortRule(index, specs, l7, http, dnsRules, dns);
    }

}
