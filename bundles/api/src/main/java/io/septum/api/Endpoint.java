package io.septum.api;

import java.util.List;
import java.util.Map;

/**
 * A managed endpoint as the agent sees it. This is the model printed by the shell, the CLI and the REST API.
 *
 * @param id          agent-local endpoint number
 * @param name        the name its source gave it
 * @param namespace   the namespace the agent set (label {@code k8s:io.kubernetes.pod.namespace})
 * @param source      the source that emitted it (netns, docker, ...)
 * @param labels      every label, canonical {@code source:key=value}
 * @param identity    its security identity (0 while waiting for one)
 * @param addresses   its IPv4 and IPv6 addresses
 * @param interfaceName the host-side interface where the datapath enforces
 * @param ifindex     that interface's index in the host's network namespace
 * @param netns       the network namespace path, if any
 * @param policyIngress whether ingress policy is enforced
 * @param policyEgress  whether egress policy is enforced
 * @param externalIds the source's own identifiers (container id, netns name, ...)
 * @param message     why it is in its state, if not ready
 * @param audit       per-endpoint audit mode: would-be drops pass and are reported as {@code AUDIT} flows
 * @param namedPorts  the ports it declares by name, which policies that name a port resolve (since 2.2)
 */
public record Endpoint(
        long id,
        String name,
        String namespace,
        String source,
        List<String> labels,
        long identity,
        EndpointState state,
        List<String> addresses,
        String interfaceName,
        int ifindex,
        String netns,
        boolean policyIngress,
        boolean policyEgress,
        Map<String, String> externalIds,
        long policyRevision,
        String message,
        boolean audit,
        List<NamedPort> namedPorts) {
    public Endpoint(long id, String name, String namespace, String source, List<String> labels, long identity,
                    EndpointState state, List<String> addresses, String interfaceName, int ifindex, String netns,
                    boolean policyIngress, boolean policyEgress, Map<String, String> externalIds, long policyRevision,
                    String message, boolean audit) {
        this(id, name, namespace, source, labels, identity, state, addresses, interfaceName, ifindex, netns,
                policyIngress, policyEgress, externalIds, policyRevision, message, audit, List.of());
    }

    public Endpoint(long id, String name, String namespace, String source, List<String> labels, long identity,
                    EndpointState state, List<String> addresses, String interfaceName, int ifindex, String netns,
                    boolean policyIngress, boolean policyEgress, Map<String, String> externalIds, long policyRevision,
                    String message) {
        this(id, name, namespace, source, labels, identity, state, addresses, interfaceName, ifindex, netns,
                policyIngress, policyEgress, externalIds, policyRevision, message, false);
    }

    public Endpoint {
        labels = labels == null ? List.of() : List.copyOf(labels);
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
        externalIds = externalIds == null ? Map.of() : Map.copyOf(externalIds);
        namedPorts = namedPorts == null ? List.of() : List.copyOf(namedPorts);
    }

    /** {@code namespace/name}, how probes and commands refer to it. */
    public String qualifiedName() {
        return namespace + "/" + name;
    }
}
