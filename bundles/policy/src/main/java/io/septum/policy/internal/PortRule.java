package io.septum.policy.internal;

import io.septum.api.NamedPort;
import io.septum.api.policy.Protocol;
import java.util.List;

/**
 * One {@code toPorts} entry: its ports and, when it carries {@code rules.http} or {@code rules.dns}, the compiled L7
 * rules. An entry with {@code l7} set sends the connections it allows to a proxy (HTTP over TCP, or DNS over UDP:
 * {@link #proxied()}); an empty rule list there admits every request or name (the proxy still sees, and reports,
 * each one).
 *
 * @param index its position in the rule's {@code toPorts}, for names in verdicts
 * @param dns   the {@code rules.dns} selectors; an L7 entry with {@code dnsRules} set is a DNS one
 */
record PortRule(int index, List<PortSpec> ports, boolean l7, List<HttpRule> http, boolean dnsRules,
                List<FqdnMatcher> dns) {
    static final PortRule ALL = new PortRule(0, List.of(PortSpec.ALL), false, List.of());

    PortRule {
        ports = List.copyOf(ports);
        http = List.copyOf(http);
        dns = List.copyOf(dns);
    }

    /** An entry without DNS rules. */
    PortRule(int index, List<PortSpec> ports, boolean l7, List<HttpRule> http) {
        this(index, ports, l7, http, false, List.of());
    }

    /** The one protocol an L7 entry allows: its proxy's (TCP for HTTP, UDP for DNS). */
    Protocol proxied() {
        return dnsRules ? Protocol.UDP : Protocol.TCP;
    }

    /** Whether an entry covers the port on a destination that declares {@code destinationPorts}. */
    boolean matches(int port, Protocol protocol, List<NamedPort> destinationPorts) {
        for (PortSpec s : ports) if (s.matches(port, protocol, destinationPorts)) return true;
        return false;
    }

    /** The spec of this entry that covers {@code port}/{@code protocol}, or null. */
    PortSpec specFor(int port, Protocol protocol) {
        return specFor(port, protocol, List.of());
    }

    /**
     * The same on a destination that declares {@code destinationPorts}: a named entry covers the port as the
     * numbered entry its name resolves to there.
     */
    PortSpec specFor(int port, Protocol protocol, List<NamedPort> destinationPorts) {
        for (PortSpec s : ports) {
            for (PortSpec r : s.resolve(destinationPorts)) if (r.matches(port, protocol)) return r;
        }
        return null;
    }
}
