package io.septum.api.service;

import java.util.List;

/**
 * A ClusterIP-style service: connections to {@code frontendIp:frontendPort/protocol} are spread over the active
 * backends by the datapath and stick to the backend they got.
 *
 * @param id           agent-local service number (1 and up, kept across restarts)
 * @param name         its name, e.g. {@code deathstar}
 * @param namespace    its namespace (default {@code default}); endpoint backends given by bare name live there
 * @param frontendIp   the virtual IP (IPv4)
 * @param frontendPort the virtual port
 * @param protocol     {@code TCP} or {@code UDP}
 * @param type         {@code ClusterIP}
 * @param backends     the backends, in the operator's order
 * @param origin       where it comes from: {@code api} (commands) or the configuration file's path
 */
public record Service(long id, String name, String namespace, String frontendIp, int frontendPort, String protocol,
                      String type, List<ServiceBackend> backends, String origin) {
    public static final String CLUSTER_IP = "ClusterIP";

    public Service {
        backends = backends == null ? List.of() : List.copyOf(backends);
    }

    /** {@code namespace/name}. */
    public String qualifiedName() {
        return namespace + "/" + name;
    }

    /** {@code 10.96.0.10:80}, as {@code service list} prints it. */
    public String frontend() {
        return (frontendIp.contains(":") ? "[" + frontendIp + "]" : frontendIp) + ":" + frontendPort;
    }

    /** The names an endpoint can resolve it by: {@code name.namespace.svc.cluster.local} and {@code name}. */
    public List<String> hostNames() {
        return List.of(name + "." + namespace + ".svc.cluster.local", name);
    }
}
