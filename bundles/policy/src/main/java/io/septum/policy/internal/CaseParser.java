package io.septum.policy.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.septum.api.NamedPort;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.TestCase;
import io.septum.api.policy.ValidationError;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/** Reads the corpus case format ({@code examples/corpus/README.md}); the policies stay text. */
final class CaseParser {
    private final YAMLMapper mapper;
    private final List<ValidationError> errors = new ArrayList<>();
    private String origin;

    CaseParser(YAMLMapper mapper) {
        this.mapper = mapper;
    }

    private void error(String field, String reason) {
        errors.add(new ValidationError(origin, 0, "case", null, field, reason));
    }

    /**
     * Hands each mapping in list {@code key} to {@code each} with its path ({@code endpoints[0]}); an absent or null
     * list is empty, and anything but a list of mappings is an error naming what was expected.
     */
    private void eachItem(JsonNode root, String key, String items, String fields, BiConsumer<String, JsonNode> each) {
        JsonNode list = root.get(key);
        if (list == null || list.isNull()) return;
        if (!list.isArray()) {
            error(key, "expected a list of " + items);
            return;
        }
        for (int i = 0; i < list.size(); i++) {
            String path = key + "[" + i + "]";
            if (list.get(i).isObject()) each.accept(path, list.get(i));
            else error(path, "expected " + fields);
        }
    }

    TestCase parse(String origin, String text) throws PolicyValidationException {
        this.origin = origin;
        JsonNode root;
        try {
            root = mapper.readTree(text == null ? "" : text);
        } catch (JsonProcessingException e) {
            error("", PolicyParser.syntaxError(e, 1));
            throw new PolicyValidationException(errors);
        }
        if (root == null || !root.isObject()) {
            error("", "a test case is a mapping with name, endpoints, policies and probes");
            throw new PolicyValidationException(errors);
        }
        // unknown top-level fields are tolerated: the corpus format may grow (error_contains, notes...)
        String name = str(root, "name", "name");
        if (name == null || name.isBlank()) {
            name = fileName(origin);
        }
        String description = str(root, "description", "description");
        Map<String, Map<String, String>> namespaces = new LinkedHashMap<>();
        JsonNode ns = root.get("namespaces");
        if (ns != null && !ns.isNull()) {
            if (!ns.isObject()) {
                error("namespaces", "expected a map of namespace to labels");
            } else {
                for (Iterator<Map.Entry<String, JsonNode>> it = ns.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    namespaces.put(e.getKey(), stringMap(e.getValue(), "namespaces." + e.getKey()));
                }
            }
        }
        List<TestCase.Endpoint> endpoints = new ArrayList<>();
        Set<String> qualified = new HashSet<>();
        eachItem(root, "endpoints", "endpoints", "{name, namespace, labels, ports}", (p, e) -> {
            String en = str(e, "name", p + ".name");
            if (en == null || en.isBlank()) {
                error(p + ".name", "missing endpoint name");
                return;
            }
            List<NamedPort> named = new ArrayList<>();
            List<String> listening = ports(e.get("ports"), p + ".ports", named);
            boolean dns = dnsServer(e.get("dns"), p + ".dns");
            TestCase.Endpoint ep = new TestCase.Endpoint(en, str(e, "namespace", p + ".namespace"),
                    stringMap(e.get("labels"), p + ".labels"), listening, node(e.get("node"), p + ".node"),
                    named, dns);
            if (!qualified.add(ep.qualifiedName())) error(p + ".name", "duplicate endpoint \"" + ep.qualifiedName() + "\"");
            endpoints.add(ep);
        });
        List<TestCase.External> external = new ArrayList<>();
        eachItem(root, "external", "external hosts", "{name, ip, ports}", (p, e) -> {
            String en = str(e, "name", p + ".name");
            String ip = str(e, "ip", p + ".ip");
            if (en == null || en.isBlank()) error(p + ".name", "missing name");
            if (ip == null || ip.contains("/") || Cidr.tryParse(ip).isEmpty()) {
                error(p + ".ip", "invalid IP address \"" + ip + "\"");
            }
            if (en != null && !qualified.add(en)) error(p + ".name", "duplicate name \"" + en + "\"");
            String fqdn = dnsName(e, "fqdn", p + ".fqdn");
            external.add(new TestCase.External(en, ip, ports(e.get("ports"), p + ".ports", null), fqdn));
        });
        JsonNode pol = root.get("policies");
        String policies = "";
        if (pol != null && !pol.isNull()) {
            if (!pol.isTextual()) error("policies", "expected the policies as one YAML string (policies: |)");
            else policies = pol.asText();
        }
        List<TestCase.Probe> probes = new ArrayList<>();
        eachItem(root, "probes", "probes", "{from, to, port, protocol, expect}", (p, e) -> {
            TestCase.Probe probe = probe(e, p);
            if (probe != null) probes.add(probe);
        });
        TestCase tc = new TestCase(name, description, namespaces, endpoints, external, policies, probes);
        CaseEvaluator.Names names = new CaseEvaluator.Names(tc);
        for (int i = 0; i < probes.size(); i++) {
            for (String which : List.of("from", "to")) {
                String ref = which.equals("from") ? probes.get(i).from() : probes.get(i).to();
                String problem = names.problem(ref);
                if (problem != null) error("probes[" + i + "]." + which, problem);
            }
        }
        if (!errors.isEmpty()) throw new PolicyValidationException(errors);
        List<TestCase.Probe> numbered = new ArrayList<>();
        for (int i = 0; i < probes.size(); i++) numbered.add(numbered(probes.get(i), names, "probes[" + i + "].port"));
        if (!errors.isEmpty()) throw new PolicyValidationException(errors);
        return new TestCase(name, description, namespaces, endpoints, external, policies, numbered);
    }

    /**
     * A probe of a named port gets the number the destination endpoint declares for that name and protocol, so
     * that every runner (offline, real packets) sends it to the same port; a name it does not declare is an error.
     */
    private TestCase.Probe numbered(TestCase.Probe p, CaseEvaluator.Names names, String path) {
        if (p.portName() == null) return p;
        List<NamedPort> declared = names.party(p.to()).ports();
        List<NamedPort> found = NamedPort.lookup(declared, p.portName(), p.protocol());
        if (found.isEmpty()) {
            error(path, "\"" + p.to() + "\" declares no port named \"" + p.portName() + "\" for " + p.protocol()
                    + (declared.isEmpty() ? "" : " (it declares " + declared + ")"));
            return p;
        }
        return new TestCase.Probe(p.from(), p.to(), found.get(0).port(), p.protocol(), p.http(), p.expect(),
                p.portName(), p.dns());
    }

    private TestCase.Probe probe(JsonNode p, String path) {
        int before = errors.size();
        String from = str(p, "from", path + ".from");
        String to = str(p, "to", path + ".to");
        if (from == null) error(path + ".from", "missing from");
        if (to == null) error(path + ".to", "missing to");
        String protocol = str(p, "protocol", path + ".protocol");
        protocol = protocol == null ? "TCP" : protocol.toUpperCase(java.util.Locale.ROOT);
        if (!Set.of("TCP", "UDP", "SCTP", "ICMP", "ICMPV6").contains(protocol)) {
            error(path + ".protocol", "unknown protocol \"" + protocol + "\" (expected TCP, UDP, SCTP, ICMP or ICMPv6)");
        }
        boolean icmp = protocol.startsWith("ICMP");
        int port = 0;
        String portName = null;
        JsonNode pn = p.get("port");
        if (icmp) {
            // ICMP has no ports: the probe's "port" is the message type, as in the policy (icmps) and the datapath
            if (pn != null && !pn.isNull() && !pn.asText().equals("0")) {
                error(path + ".port", "an ICMP probe has no port; give its type as icmp: {type: N}");
            }
            port = icmpType(p.get("icmp"), path + ".icmp", protocol.equals("ICMP") ? 8 : 128);
        } else if (p.has("icmp")) {
            error(path + ".icmp", "icmp is for protocol ICMP or ICMPv6 probes, not " + protocol);
        } else if (pn == null || pn.isNull()) {
            error(path + ".port", "missing port");
        } else if (pn.isTextual() && !pn.asText().trim().matches("[+-]?\\d*")) {
            // the destination's port of that name, resolved once every endpoint is read (numbered)
            portName = pn.asText().trim();
            String problem = NamedPort.nameProblem(portName);
            if (problem != null) error(path + ".port", problem);
        } else if (!pn.asText().matches("\\d{1,5}") || Integer.parseInt(pn.asText()) > 65535
                || Integer.parseInt(pn.asText()) < 1) {
            error(path + ".port", "invalid port \"" + pn.asText() + "\": must be 1-65535");
        } else {
            port = Integer.parseInt(pn.asText());
        }
        String expect = str(p, "expect", path + ".expect");
        if (!"allow".equals(expect) && !"deny".equals(expect)) {
            error(path + ".expect", "expect must be allow or deny, not \"" + expect + "\"");
        }
        Map<String, String> http = null;
        JsonNode h = p.get("http");
        if (h != null && !h.isNull()) http = httpProbe(h, path + ".http", protocol);
        String dns = dnsName(p, "dns", path + ".dns");
        if (errors.size() > before) return null;
        return new TestCase.Probe(from, to, port, protocol, http, expect, portName, dns);
    }

    private static final Set<String> HTTP_PROBE_FIELDS = Set.of("method", "path", "host", "headers");

    /** An ICMP probe's {@code icmp: {type: N}} (0-255), {@code echoRequest} when absent. */
    private int icmpType(JsonNode n, String path, int echoRequest) {
        if (n == null || n.isNull()) return echoRequest;
        if (!n.isObject()) {
            error(path, "expected {type: N}, found " + n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT));
            return echoRequest;
        }
        n.fieldNames().forEachRemaining(f -> {
            if (!f.equals("type")) error(path + "." + f, "unknown field \"" + f + "\" (expected type)");
        });
        JsonNode t = n.get("type");
        if (t == null || t.isNull()) return echoRequest;
        if (!t.asText().matches("\\d{1,3}") || Integer.parseInt(t.asText()) > 255) {
            error(path + ".type", "invalid ICMP type \"" + t.asText() + "\": must be 0-255");
            return echoRequest;
        }
        return Integer.parseInt(t.asText());
    }

    /**
     * {@code http: {method, path, host, headers}}; headers as a list of {@code "Name: value"} strings (or one
     * string), kept as lines in the probe's string map.
     */
    private Map<String, String> httpProbe(JsonNode h, String path, String protocol) {
        if (!h.isObject()) {
            error(path, "expected {method, path, host, headers}");
            return null;
        }
        if (!"TCP".equals(protocol)) error(path, "an HTTP probe needs protocol TCP, not " + protocol);
        Map<String, String> out = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = h.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String f = path + "." + e.getKey();
            JsonNode v = e.getValue();
            if (!HTTP_PROBE_FIELDS.contains(e.getKey())) {
                error(f, "unknown field \"" + e.getKey() + "\" (expected method, path, host, headers)");
            } else if (e.getKey().equals("headers")) {
                List<String> lines = new ArrayList<>();
                for (JsonNode x : v.isArray() ? v : List.of(v)) {
                    String t = x.isValueNode() && !x.isNull() ? x.asText().strip() : "";
                    if (t.indexOf(':') <= 0 || t.contains("\n")) {
                        error(f, "expected headers as \"Name: value\" strings, found " + x);
                    } else {
                        lines.add(t);
                    }
                }
                out.put("headers", String.join("\n", lines));
            } else if (!v.isValueNode() || v.isNull()) {
                error(f, "expected a string value");
            } else if (e.getKey().equals("path") && !v.asText().startsWith("/")) {
                error(f, "a path starts with /, not \"" + v.asText() + "\"");
            } else if (e.getKey().equals("method") && !v.asText().matches("[A-Za-z]+")) {
                error(f, "invalid method \"" + v.asText() + "\"");
            } else {
                out.put(e.getKey(), v.asText());
            }
        }
        return out;
    }

    /** {@code node: 1}: the 0-based node of a multi-node run; null when absent. */
    /** An endpoint's {@code dns: true|false}. */
    private boolean dnsServer(JsonNode n, String path) {
        if (n == null || n.isNull()) return false;
        if (!n.isBoolean()) {
            error(path, "expected true or false, found \"" + n.asText() + "\"");
            return false;
        }
        return n.asBoolean();
    }

    /** A DNS name field (an external's {@code fqdn}, a probe's {@code dns}), or null when absent. */
    private String dnsName(JsonNode parent, String field, String path) {
        String v = str(parent, field, path);
        if (v == null) return null;
        String problem = FqdnMatcher.problem(v, false);
        if (problem != null) {
            error(path, field + " " + problem);
            return null;
        }
        return FqdnMatcher.normalize(v);
    }

    private Integer node(JsonNode n, String path) {
        if (n == null || n.isNull()) return null;
        if (!n.isValueNode() || !n.asText().trim().matches("\\d{1,3}")) {
            error(path, "invalid node \"" + n.asText() + "\": expected a node number from 0 (0-based)");
            return null;
        }
        return Integer.parseInt(n.asText().trim());
    }

    /**
     * Listening ports: {@code 80}, {@code "53/UDP"}, or, where {@code named} is given (endpoints), a named port
     * {@code {name: http, port: 8080, protocol: TCP}}, which listens too and goes to {@code named}.
     */
    private List<String> ports(JsonNode n, String path, List<NamedPort> named) {
        List<String> out = new ArrayList<>();
        if (n == null || n.isNull()) return out;
        if (!n.isArray()) {
            error(path, "expected a list of ports such as [80, \"53/UDP\", {name: http, port: 8080}]");
            return out;
        }
        for (int i = 0; i < n.size(); i++) {
            if (n.get(i).isObject() && named != null) {
                NamedPort np = namedPort(n.get(i), path + "[" + i + "]", named);
                if (np != null) {
                    named.add(np);
                    if (!out.contains(np.port() + "/" + np.protocol())) out.add(np.port() + "/" + np.protocol());
                }
                continue;
            }
            String t = n.get(i).asText().trim();
            if (!t.matches("\\d{1,5}(/(?i:tcp|udp|sctp))?") || Integer.parseInt(t.split("/")[0]) < 1
                    || Integer.parseInt(t.split("/")[0]) > 65535) {
                error(path + "[" + i + "]", "invalid port \"" + t + "\": expected 1-65535, optionally with /TCP, /UDP or /SCTP");
                continue;
            }
            out.add(t.contains("/") ? t.toUpperCase(java.util.Locale.ROOT) : t);
        }
        return out;
    }

    private static final Set<String> NAMED_PORT_FIELDS = Set.of("name", "port", "protocol");

    /** {@code {name, port, protocol}}: protocol TCP by default; a name twice for one protocol is an error. */
    private NamedPort namedPort(JsonNode n, String path, List<NamedPort> before) {
        int errs = errors.size();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!NAMED_PORT_FIELDS.contains(f)) error(path + "." + f, "unknown field \"" + f + "\" (expected name, port, protocol)");
        }
        String name = str(n, "name", path + ".name");
        JsonNode pv = n.get("port");
        String proto = str(n, "protocol", path + ".protocol");
        if (name == null) error(path + ".name", "missing name (a port without a name is written 8080 or \"53/UDP\")");
        if (pv == null || !pv.asText().trim().matches("\\d{1,5}")) {
            error(path + ".port", "invalid port \"" + (pv == null ? "" : pv.asText()) + "\": expected 1-65535");
        }
        if (errors.size() > errs) return null;
        try {
            NamedPort np = new NamedPort(name, Integer.parseInt(pv.asText().trim()), proto);
            if (!NamedPort.lookup(before, np.name(), np.protocol()).isEmpty()) {
                error(path + ".name", "port name \"" + np.name() + "\" is declared twice for " + np.protocol());
                return null;
            }
            return np;
        } catch (IllegalArgumentException e) {
            error(path, e.getMessage());
            return null;
        }
    }

    private Map<String, String> stringMap(JsonNode n, String path) {
        Map<String, String> out = new HashMap<>();
        if (n == null || n.isNull()) return out;
        if (!n.isObject()) {
            error(path, "expected a map of strings");
            return out;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isValueNode()) {
                error(path + "." + e.getKey(), "expected a string value");
                continue;
            }
            out.put(e.getKey(), e.getValue().isNull() ? "" : e.getValue().asText());
        }
        return out;
    }

    private String str(JsonNode n, String field, String path) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isValueNode()) {
            error(path, "expected a string");
            return null;
        }
        return v.asText();
    }

    private static String fileName(String origin) {
        if (origin == null) return "case";
        String f = origin.substring(origin.lastIndexOf('/') + 1);
        return f.endsWith(".yaml") ? f.substring(0, f.length() - 5) : f.endsWith(".yml") ? f.substring(0, f.length() - 4) : f;
    }
}
