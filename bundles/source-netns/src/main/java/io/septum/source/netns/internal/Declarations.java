package io.septum.source.netns.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.septum.api.NamedPort;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Declared endpoints: the {@code etc/endpoints/*.yaml} format and the operator's additions.
 *
 * <pre>
 * endpoints:
 *   - name: deathstar          # required
 *     namespace: default       # optional, the agent's default when absent
 *     netns: deathstar         # a name under /var/run/netns or a path; defaults to name
 *     interface: sept-ds-h     # optional host-side veth; found from the namespace's veth when absent
 *     labels: {org: empire, class: deathstar}
 *     ports:                   # optional named ports, which policies may name (port: http)
 *       - {name: http, port: 8080, protocol: TCP}   # protocol TCP when absent; UDP, SCTP
 * </pre>
 */
final class Declarations {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,251}[A-Za-z0-9])?");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Set<String> FIELDS = Set.of("name", "namespace", "netns", "interface", "labels", "addresses",
            "ports");
    private static final Set<String> PORT_FIELDS = Set.of("name", "port", "protocol");

    private Declarations() {
    }

    /** One declared endpoint; {@code origin} is the file it came from, or {@code api}. */
    record Declared(String name, String namespace, String netns, String interfaceName, Map<String, String> labels,
                    List<String> addresses, Map<String, String> externalIds, String origin, List<NamedPort> ports) {
        Declared {
            ports = ports == null ? List.of() : List.copyOf(ports);
            labels = labels == null ? Map.of() : Map.copyOf(new TreeMap<>(labels));
            addresses = addresses == null ? List.of() : List.copyOf(addresses);
            externalIds = externalIds == null ? Map.of() : Map.copyOf(externalIds);
        }

        /** The source id: {@code namespace/name}, unique within the source whichever file declares it. */
        String sourceId() {
            return (namespace == null ? "default" : namespace) + "/" + name;
        }
    }

    static final class InvalidException extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidException(String message) {
            super(message);
        }
    }

    static List<Declared> parseFile(Path file) throws InvalidException {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new InvalidException(file + ": cannot read: " + e.getMessage());
        }
        return parse(file.toString(), text);
    }

    static List<Declared> parse(String origin, String text) throws InvalidException {
        JsonNode root;
        try {
            // A mapper per call: files are parsed rarely, and nothing is shared between bundles' threads.
            root = new ObjectMapper(new YAMLFactory()).readTree(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            var loc = e.getLocation();
            throw new InvalidException(origin + (loc == null ? "" : ":" + loc.getLineNr() + ":" + loc.getColumnNr())
                    + ": not valid YAML: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new InvalidException(origin + ": cannot read: " + e.getMessage());
        }
        if (root == null || root.isMissingNode() || root.isNull()) return List.of();
        if (!root.isObject()) throw new InvalidException(origin + ": expected a mapping with an \"endpoints\" list");
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!"endpoints".equals(f)) throw new InvalidException(origin + ": unknown top-level field \"" + f
                    + "\" (expected \"endpoints\")");
        }
        JsonNode list = root.path("endpoints");
        if (list.isMissingNode() || list.isNull()) return List.of();
        if (!list.isArray()) throw new InvalidException(origin + ": \"endpoints\" must be a list");
        List<Declared> out = new ArrayList<>();
        Map<String, Integer> seen = new LinkedHashMap<>();
        for (int i = 0; i < list.size(); i++) {
            String where = origin + ": endpoints[" + i + "]";
            JsonNode n = item(list, i, where, "a mapping", FIELDS);
            String name = text(n, "name", where);
            String namespace = text(n, "namespace", where);
            String netns = text(n, "netns", where);
            String iface = text(n, "interface", where);
            Map<String, String> labels = new TreeMap<>();
            JsonNode l = n.path("labels");
            if (!l.isMissingNode() && !l.isNull()) {
                if (!l.isObject()) throw new InvalidException(where + ".labels: must be a mapping of key to value");
                for (Iterator<Map.Entry<String, JsonNode>> it = l.fields(); it.hasNext(); ) {
                    var e = it.next();
                    if (e.getValue().isContainerNode()) {
                        throw new InvalidException(where + ".labels." + e.getKey() + ": value must be a scalar");
                    }
                    labels.put(e.getKey(), e.getValue().isNull() ? "" : e.getValue().asText());
                }
            }
            List<String> addresses = new ArrayList<>();
            JsonNode a = n.path("addresses");
            if (!a.isMissingNode() && !a.isNull()) {
                if (!a.isArray()) throw new InvalidException(where + ".addresses: must be a list of IP addresses");
                for (JsonNode x : a) addresses.add(x.asText());
            }
            Declared d = validate(new Declared(name, namespace, netns == null ? name : netns, iface, labels, addresses,
                    null, origin, ports(n.path("ports"), where + ".ports")), where);
            Integer dup = seen.put(d.sourceId(), i);
            if (dup != null) {
                throw new InvalidException(where + ": endpoint " + d.sourceId() + " is already declared at endpoints["
                        + dup + "]");
            }
            out.add(d);
        }
        return out;
    }

    /** {@code ports: [{name: http, port: 8080, protocol: TCP}]}; empty when absent. */
    static List<NamedPort> ports(JsonNode list, String where) throws InvalidException {
        if (list.isMissingNode() || list.isNull()) return List.of();
        if (!list.isArray()) throw new InvalidException(where + ": must be a list of {name, port, protocol}");
        List<NamedPort> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String at = where + "[" + i + "]";
            JsonNode n = item(list, i, at, "{name, port, protocol}", PORT_FIELDS);
            String name = text(n, "name", at);
            String port = text(n, "port", at);
            if (name == null) throw new InvalidException(at + ".name: is required");
            if (port == null || !port.matches("\\d{1,5}")) {
                throw new InvalidException(at + ".port: \"" + (port == null ? "" : port) + "\" is not a port 1-65535");
            }
            NamedPort p;
            try {
                p = new NamedPort(name, Integer.parseInt(port), text(n, "protocol", at));
            } catch (IllegalArgumentException e) {
                throw new InvalidException(at + ": " + e.getMessage());
            }
            if (!NamedPort.lookup(out, p.name(), p.protocol()).isEmpty()) {
                throw new InvalidException(at + ".name: \"" + p.name() + "\" is already a " + p.protocol() + " port");
            }
            out.add(p);
        }
        return out;
    }

    /** Item {@code i} of a list, reported as {@code at}: a mapping of {@code known} fields only. */
    private static JsonNode item(JsonNode list, int i, String at, String expected, Set<String> known)
            throws InvalidException {
        JsonNode n = list.get(i);
        if (!n.isObject()) throw new InvalidException(at + ": expected " + expected);
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!known.contains(f)) {
                throw new InvalidException(at + ": unknown field \"" + f + "\" (known: " + known.stream().sorted().toList() + ")");
            }
        }
        return n;
    }

    private static String text(JsonNode n, String field, String where) throws InvalidException {
        JsonNode v = n.path(field);
        if (v.isMissingNode() || v.isNull()) return null;
        if (!v.isValueNode()) throw new InvalidException(where + "." + field + ": must be a string");
        String s = v.asText().trim();
        return s.isEmpty() ? null : s;
    }

    /** Checks what this source can check; the manager applies the label rules. */
    static Declared validate(Declared d, String where) throws InvalidException {
        if (d.name() == null) throw new InvalidException(where + ".name: is required");
        if (!NAME.matcher(d.name()).matches()) {
            throw new InvalidException(where + ".name: \"" + d.name() + "\" is not valid (letters, digits, '.', '_',"
                    + " '-', starting and ending with a letter or digit)");
        }
        if (d.namespace() != null && !DNS_LABEL.matcher(d.namespace()).matches()) {
            throw new InvalidException(where + ".namespace: \"" + d.namespace() + "\" is not a DNS label (lowercase"
                    + " letters, digits and '-', at most 63 characters)");
        }
        String bad = NetnsInspector.checkNetns(d.netns());
        if (bad != null) throw new InvalidException(where + ".netns: " + bad);
        bad = NetnsInspector.checkInterface(d.interfaceName());
        if (bad != null) throw new InvalidException(where + ".interface: " + bad);
        for (String k : d.labels().keySet()) {
            if (k.isEmpty()) throw new InvalidException(where + ".labels: empty key");
        }
        return d;
    }
}
