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
     * @param dns        whether it answers DNS queries (UDP 53) for every external host's {@code fqdn}, since 1.7
     */
    public record Endpoint(String name, String namespace, Map<String, String> labels, List<String> ports, Integer node,
                           List<NamedPort> namedPorts, boolean dns) {
        /** An endpoint without named ports. */
        public Endpoint(String name, String namespace, Map<String, String> labels, List<String> ports, Integer node) {
            this(name, namespace, labels, ports, node, List.of());
        }

        /** An endpoint that serves no DNS. */
        public Endpoint(String name, String namespace, Map<String, String> labels, List<String> ports, Integer node,
                        List<NamedPort> namedPorts) {
            this(name, namespace, labels, ports, node, namedPorts, false);
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

    /** @param fqdn the DNS name the case's {@code dns: true} endpoints answer with its address, or null (since 1.7) */
    public record External(String name, String ip, List<String> ports, String fqdn) {
        /** A host without a DNS name. */
        public External(String name, String ip, List<String> ports) {
            this(name, ip, ports, null);
        }

        public External {
            ports = ports == null ? List.of() : List.copyOf(ports);
        }
    }

    /**
     * @param http   {@code method} and {@code path} of an L7 probe, or null
     * @param expect {@code allow} or {@code deny}
     * @param portName the destination's port name the probe gave ({@code port: http}), resolved to {@code port}
     *                 when the case was read; null for a numbered port (since 1.5)
     * @param dns      a name the source resolves first through the case's {@code dns: true} endpoint; the probe is
     *                 denied when that lookup is; null for none (since 1.7)
     */
    public record Probe(String from, String to, int port, String protocol, Map<String, String> http, String expect,
                        String portName, String dns) {
        /** A probe of a numbered port. */
        public Probe(String from, String to, int port, String protocol, Map<String, String> http, String expect) {
            this(from, to, port, protocol, http, expect, null);
        }

        /** A probe without a DNS lookup. */
        public Probe(String from, String to, int port, String protocol, Map<String, String> http, String expect,
                     String portName) {
            this(from, to, port, protocol, http, expect, portName, null);
        }

        public Probe {
            protocol = protocol == null ? "TCP" : protocol;
            http = http == null ? null : Map.copyOf(http);
        }
    }
}
