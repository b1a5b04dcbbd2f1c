package io.septum.source.cgroup.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The rules of configuration pid {@value CgroupSource#PID}, parsed and checked as a whole: one bad key refuses the
 * whole configuration (the source keeps the rules it had), with the key and the reason.
 *
 * <pre>
 * rule.web.path=system.slice/nginx.service      # relative to the cgroup v2 mount; * ? [..] {a,b} within one segment
 * rule.web.labels=app=web,tier=front            # become cgroup:app=web, cgroup:tier=front
 * rule.web.namespace=prod                       # default: the key "namespace", else "default"
 * rule.web.addresses=10.198.0.10                # optional: IPs that others see as this endpoint (else the host's)
 * </pre>
 */
final class Rules {
    private static final Pattern RULE_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9_-]{0,62})?");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._/-]{0,251}[A-Za-z0-9])?");
    private static final Pattern VALUE = Pattern.compile("([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?");
    private static final Pattern SEGMENT = Pattern.compile("[^/\\x00]+");
    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1?\\d?\\d)(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}");
    private static final List<String> FIELDS = List.of("path", "labels", "namespace", "addresses");

    /** One rule: cgroups whose path relative to the mount matches {@code path} get these labels. */
    record Rule(String name, String path, Map<String, String> labels, String namespace, List<String> addresses) {
        Rule {
            labels = Collections.unmodifiableMap(new TreeMap<>(labels));
            addresses = List.copyOf(addresses);
        }

        List<String> segments() {
            return List.of(path.split("/"));
        }
    }

    /** What the configuration says: the rules in name order, and the tunables. */
    record Settings(List<Rule> rules, String cgroupRoot, int scanIntervalSeconds) {
        static final Settings EMPTY = new Settings(List.of(), "", 10);

        Settings {
            rules = List.copyOf(rules);
        }
    }

    private Rules() {
    }

    /** Parses a configuration dictionary; throws IllegalArgumentException naming the key and the reason. */
    static Settings parse(Map<String, ?> config) {
        String where = "config " + CgroupSource.PID;
        String defaultNs = str(config.get("namespace"), "default");
        if (!DNS_LABEL.matcher(defaultNs).matches()) {
            throw new IllegalArgumentException(where + ": namespace \"" + defaultNs + "\" is not a DNS label"
                    + " (lowercase letters, digits and '-', at most 63 characters)");
        }
        String root = str(config.get("cgroupRoot"), "");
        if (!root.isEmpty() && !root.startsWith("/")) {
            throw new IllegalArgumentException(where + ": cgroupRoot \"" + root + "\" must be an absolute path (or empty: found in /proc/self/mountinfo)");
        }
        int scan;
        try {
            scan = Integer.parseInt(str(config.get("scanIntervalSeconds"), "10"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": scanIntervalSeconds \"" + config.get("scanIntervalSeconds") + "\" is not a number");
        }
        if (scan < 1) throw new IllegalArgumentException(where + ": scanIntervalSeconds must be at least 1");

        Map<String, Map<String, String>> byRule = new TreeMap<>();
        for (Map.Entry<String, ?> e : config.entrySet()) {
            String key = e.getKey();
            if (!key.startsWith("rule.")) continue;
            int dot = key.lastIndexOf('.');
            String name = dot > 5 ? key.substring(5, dot) : "";
            String field = key.substring(dot + 1);
            if (name.isEmpty() || !RULE_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException(where + ": " + key + ": a rule key is rule.<name>.<field> with a name of"
                        + " letters, digits, '_' and '-'");
            }
            if (!FIELDS.contains(field)) {
                throw new IllegalArgumentException(where + ": " + key + ": unknown field \"" + field + "\" (fields: "
                        + String.join(", ", FIELDS) + ")");
            }
            byRule.computeIfAbsent(name, n -> new LinkedHashMap<>()).put(field, str(e.getValue(), ""));
        }
        List<Rule> rules = new ArrayList<>();
        for (Map.Entry<String, Map<String, String>> r : byRule.entrySet()) {
            rules.add(rule(where, r.getKey(), r.getValue(), defaultNs));
        }
        return new Settings(rules, root, scan);
    }

    private static Rule rule(String where, String name, Map<String, String> f, String defaultNs) {
        String prefix = where + ": rule." + name + ".";
        String path = f.getOrDefault("path", "").trim();
        if (path.isEmpty()) throw new IllegalArgumentException(prefix + "path is missing: each rule selects cgroups by a path or glob");
        if (path.startsWith("/")) {
            throw new IllegalArgumentException(prefix + "path \"" + path + "\" must be relative to the cgroup v2 mount"
                    + " (e.g. system.slice/*.service), not absolute");
        }
        for (String seg : path.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..") || !SEGMENT.matcher(seg).matches()) {
                throw new IllegalArgumentException(prefix + "path \"" + path + "\" has an empty, '.' or '..' segment");
            }
            if (seg.contains("**")) {
                throw new IllegalArgumentException(prefix + "path \"" + path + "\": '**' is not supported; a glob matches within one segment");
            }
        }
        try {
            java.nio.file.FileSystems.getDefault().getPathMatcher("glob:" + path);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(prefix + "path \"" + path + "\" is not a valid glob: " + e.getMessage());
        }
        Map<String, String> labels = new TreeMap<>();
        String spec = f.getOrDefault("labels", "").trim();
        if (!spec.isEmpty()) {
            for (String item : spec.split(",")) {
                String it = item.trim();
                if (it.isEmpty()) continue;
                int eq = it.indexOf('=');
                String k = (eq < 0 ? it : it.substring(0, eq)).trim();
                String v = eq < 0 ? "" : it.substring(eq + 1).trim();
                String bad = checkLabel(k, v);
                if (bad != null) throw new IllegalArgumentException(prefix + "labels: " + bad);
                labels.put(k, v);
            }
        }
        String ns = f.getOrDefault("namespace", "").trim();
        if (ns.isEmpty()) ns = defaultNs;
        if (!DNS_LABEL.matcher(ns).matches()) {
            throw new IllegalArgumentException(prefix + "namespace \"" + ns + "\" is not a DNS label");
        }
        List<String> addresses = new ArrayList<>();
        for (String a : f.getOrDefault("addresses", "").split(",")) {
            String ip = a.trim();
            if (ip.isEmpty()) continue;
            if (!IPV4.matcher(ip).matches() && !(ip.contains(":") && ip.matches("[0-9A-Fa-f:.]+"))) {
                throw new IllegalArgumentException(prefix + "addresses: \"" + ip + "\" is not an IPv4 or IPv6 address");
            }
            addresses.add(ip);
        }
        return new Rule(name, path, labels, ns, addresses);
    }

    /**
     * A rule gives {@code cgroup:} labels only: a key naming a source ({@code reserved:}, {@code k8s:}, ...) or the
     * namespace is refused here, before the endpoint manager would drop it, so the operator learns at once.
     */
    static String checkLabel(String key, String value) {
        if (key.contains(":")) {
            return "key \"" + key + "\" names a label source; a rule gives cgroup: labels only (no reserved:, k8s: or"
                    + " other sources' labels)";
        }
        if (key.equals("io.kubernetes.pod.namespace") || key.startsWith("io.cilium.k8s.namespace.labels")
                || key.startsWith("io.kubernetes.pod.namespace")) {
            return "key \"" + key + "\" is the namespace label, which only the agent sets: use rule.<name>.namespace";
        }
        if (!KEY.matcher(key).matches()) {
            return "key \"" + key + "\" is not valid (letters, digits, '.', '_', '-', '/', at most 253)";
        }
        if (!VALUE.matcher(value).matches()) {
            return "label " + key + ": value \"" + value + "\" is not valid (letters, digits, '.', '_', '-', at most 63)";
        }
        return null;
    }

    private static String str(Object o, String dflt) {
        if (o == null) return dflt;
        String s = o.toString().trim();
        return s.isEmpty() ? dflt : s;
    }
}
