package io.septum.policy.internal;

import io.septum.api.NamedPort;
import io.septum.api.policy.Protocol;
import java.util.List;

/**
 * One {@code toPorts} entry: its ports and, when it carries {@code rules.http}, the compiled HTTP rules. An entry
 * with {@code l7} set sends the connections it allows to the L7 proxy; an empty {@code http} list there admits
 * every request (the proxy still sees, and reports, each one).
 *
 * @param index its position in the rule's {@code toPorts}, for names in verdicts
 */
record PortRule(int index, List<PortSpec> ports, boolean l7, List<HttpRule> http) {
    static final PortRule ALL = new PortRule(0, List.of(PortSpec.ALL), false, List.of());

    PortRule {
        ports = List.copyOf(ports);
        http = List.copyOf(http);
    }

    /** Whether an entry covers the port on a destination that declares {@code destinationPorts}. */
    boolean matches(int port, Protocol protocol, List<NamedPort> destinationPorts) {
        for (PortSpec s : ports) if (s.matches(port, protocol, destinationPorts)) return true;
        return false;
    }

    /** The spec of this entry that covers {@code port}/TCP, or null. */
    PortSpec specFor(int port, Protocol protocol) {
        for (PortSpec s : ports) if (s.matches(port, protocol)) return s;
        return null;
    }
}
