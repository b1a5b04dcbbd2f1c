package io.septum.policy.internal;

import io.septum.api.policy.Protocol;
import java.util.List;

/** One {@code toPorts} entry: its ports, and whether it carries L7 rules (accepted, judged at L3/L4 for now). */
record PortRule(List<PortSpec> ports, boolean l7) {
    static final PortRule ALL = new PortRule(List.of(PortSpec.ALL), false);

    PortRule {
        ports = List.copyOf(ports);
    }

    boolean matches(int port, Protocol protocol) {
        for (PortSpec s : ports) if (s.matches(port, protocol)) return true;
        return false;
    }
}
