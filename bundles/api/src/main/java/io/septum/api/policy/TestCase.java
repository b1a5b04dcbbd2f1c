package io.septum.api.policy;

import java.util.List;
import java.util.Map;

/**
 * A policy test case in the corpus format ({@code examples/corpus/README.md}): endpoints with labels, external
 * hosts, policies as users write them, and probes with the expected verdict. Used by {@code policy eval}
 * (offline) and {@code connectivity test} (real packets).
 *
 * @param namespaces namespace name to its labels (for namespaceSelector)
 * @param policies   the policy documents, unchanged
 */
public record TestCase(String name, String description, Map<String, Map<String, String>> namespaces,
                       List<Endpoint> endpoints, List<External> external, String policies, List<Probe> probes) {
    public TestCase {
        namespaces = namespaces == null ? Map.of() : Map.copyOf(namespaces);
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
        external = external == null ? List.of() : List.copyOf(external);
        policies = policies == null ? "" : policies;
        probes = probes == null ? List.of() : List.copyOf(probes);
    }

    /**
     * @param ports listening ports: {@code "80"} (TCP) or {@code "53/UDP"}
     * @param node  on which node (0-based) a multi-node lab places it, or null for round-robin; verdicts never
     *              depend on it
     */
    public record Endpoint(String name, String namespace, Map<String, String> labels, List<String> ports, Integer node) {
        public Endpoint {
            namespace = namespace == null || namespace.isEmpty() ? "default" : namespace;
            labels = labels == null ? Map.of() : Map.copyOf(labels);
            ports = ports == null ? List.of() : List.copyOf(ports);
            if (node != null && node < 0) throw new IllegalArgumentException("node " + node + " is negative");
        }

        /** An endpoint without a node placement. */
        public Endpoint(String name, String namespace, Map<String, String> labels, List<String> ports) {
            this(name, namespace, labels, ports, null);
        }

        public String qualifiedName() {
            return namespace + "/" + name;
        }
    }

    public record External(String name, String ip, List<String> ports) {
        public External {
            ports = ports == null ? List.of() : List.copyOf(ports);
        }
    }

    /**
     * @param http   {@code method} and {@code path} of an L7 probe, or null
     * @param expect {@code allow} or {@code deny}
     */
    public record Probe(String from, String to, int port, String protocol, Map<String, String> http, String expect) {
        public Probe {
            protocol = protocol == null ? "TCP" : protocol;
            http = http == null ? null : Map.copyOf(http);
        }
    }
}
