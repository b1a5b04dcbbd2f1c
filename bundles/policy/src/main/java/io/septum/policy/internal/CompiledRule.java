package io.septum.policy.internal;

import io.septum.api.Labels;
import io.septum.api.NamedPort;
import io.septum.api.policy.Direction;
import io.septum.api.policy.Protocol;
import java.util.List;

/**
 * One rule of one section of a policy, compiled: whom it applies to (subject, already restricted to the
 * policy's namespace), the peers it allows or denies, and the ports.
 *
 * @param section      {@code ingress}, {@code egressDeny}, or {@code specs[1].ingress} for a second spec
 * @param peers        empty when nothing may match (an empty peer list is never "everything")
 * @param requires     {@code fromRequires}/{@code toRequires} selectors: every peer must also match them
 * @param ports        empty means every port; otherwise the {@code toPorts} entries
 * @param enforces     false when {@code enableDefaultDeny} turned default deny off for this direction
 */
record CompiledRule(String section, int index, Direction direction, boolean deny, Selector subject,
                    List<Peer> peers, List<Selector> requires, List<PortRule> ports, boolean enforces) {
    CompiledRule {
        peers = List.copyOf(peers);
        requires = List.copyOf(requires);
        ports = ports.isEmpty() ? List.of(PortRule.ALL) : List.copyOf(ports);
    }

    /** True when a peer names CIDR groups or a service ({@link Peer#namesObjects()}). */
    boolean namesObjects() {
        return peers.stream().anyMatch(Peer::namesObjects);
    }

    /** This rule with each peer that names objects holding what they are in {@code refs} (nothing if none). */
    CompiledRule resolved(References refs) {
        List<Peer> resolved = peers.stream().map(p -> p.resolved(refs)).toList();
        return new CompiledRule(section, index, direction, deny, subject, resolved, requires, ports, enforces);
    }

    boolean hasL7() {
        return ports.stream().anyMatch(PortRule::l7);
    }

    boolean selects(Labels subjectLabels) {
        return subject.matches(subjectLabels);
    }

    /** True when {@code peer} is one of this rule's peers (requirements not included). */
    boolean peerMatches(Labels peer) {
        for (Peer p : peers) if (p.matches(peer)) return true;
        return false;
    }

    /**
     * The matching port rule, or null; an entry with L7 rules first, since it governs the port. Such an entry
     * matches its proxy's protocol only ({@link PortRule#proxied()}), even when its protocol is ANY: the HTTP proxy
     * speaks HTTP over TCP and the DNS proxy DNS over UDP, so it allows nothing else.
     * Port names resolve on {@code destinationPorts}, the destination's named ports.
     */
    PortRule portMatch(int port, Protocol protocol, List<NamedPort> destinationPorts) {
        PortRule found = null;
        for (PortRule r : ports) {
            if (r.l7() && protocol != r.proxied()) continue;
            if (r.matches(port, protocol, destinationPorts)) {
                if (r.l7()) return r;
                if (found == null) found = r;
            }
        }
        return found;
    }
}
