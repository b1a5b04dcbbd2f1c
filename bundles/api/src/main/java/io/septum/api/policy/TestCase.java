package io.septum.api.policy;

import io.septum.api.NamedPort;
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
     * @param ports      listening ports: {@code "80"} (TCP) or {@code "53/UDP"}, named ones included
     * @param node       on which node (0-based) a multi-node lab places it, or null for round-robin; verdicts never
     *                   depend on it
     * @param namedPorts the ports it declares by name ({@code {name: http, port: 8080}}), since 1.5
     */
    public record Endpoint(String name, String namespace, Map<String, String> labels, List<String> ports, Integer node,
                           List<NamedPort> namedPorts) {
        /** An endpoint without named ports. */
        public Endpoint(String name, String namespace, Map<String, String> labels, List<String> ports, Integer node) {
            this(name, namespace, labels, ports, node, List.of());
        }

        public Endpoint {
            namedPorts = namedPorts == null ? List.of() : List.copyOf(namedPorts);
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
     * @param portName the destination's port name the probe gave ({@code port: http}), resolved to {@code port}
     *                 when the case was read; null for a numbered port (since 1.5)
     */
    public record Probe(String from, String to, int port, String protocol, Map<String, String> http, String expect,
                        String portName) {
        /** A probe of a numbered port. */
        public Probe(String from, String to, int port, String protocol, Map<String, String> http, String expect) {
            this(from, to, port, protocol, http, expect, null);
        }

        public Probe {
            protocol = protocol == null ? "TCP" : protocol;
            http = http == null ? null : Map.copyOf(http);
        }
    }
}
