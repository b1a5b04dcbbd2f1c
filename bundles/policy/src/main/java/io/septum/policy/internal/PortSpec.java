package io.septum.policy.internal;

import io.septum.api.NamedPort;
import io.septum.api.policy.Protocol;
import java.util.ArrayList;
import java.util.List;

/**
 * One port entry of a rule. {@code port == 0} means every port of the protocol; {@link Protocol#ANY} with a port
 * means TCP, UDP and SCTP on that port, and with port 0 every protocol (ICMP included) and every port. For ICMP and
 * ICMPv6 ({@code icmps}) the "port" is the message type, always exact (type 0, echo reply, is not a wildcard).
 *
 * <p>A named entry ({@code name} set, {@code port} 0) stands for no number until {@link #resolve} turns it into
 * the numbers of one destination endpoint; on its own it matches nothing.
 */
record PortSpec(Protocol protocol, int port, int endPort, String name) {
    static final PortSpec ALL = new PortSpec(Protocol.ANY, 0, 0);

    PortSpec(Protocol protocol, int port, int endPort) {
        this(protocol, port, endPort, null);
    }

    static PortSpec named(Protocol protocol, String name) {
        return new PortSpec(protocol, 0, 0, name);
    }

    boolean named() {
        return name != null;
    }

    /**
     * This entry on a destination that declares {@code destinationPorts}: itself when it is numbered, else one
     * numbered entry per port of that name and protocol there (none when the destination does not declare it).
     * A rule of protocol ANY takes the protocol the destination declared the name with.
     */
    List<PortSpec> resolve(List<NamedPort> destinationPorts) {
        if (name == null) return List.of(this);
        List<PortSpec> out = new ArrayList<>();
        String proto = protocol == Protocol.ANY ? null : protocol.name();
        for (NamedPort p : NamedPort.lookup(destinationPorts, name, proto)) {
            out.add(new PortSpec(Protocol.parse(p.protocol()), p.port(), p.port()));
        }
        return out;
    }

    boolean matches(int p, Protocol proto) {
        if (name != null) return false;
        if (protocol == Protocol.ANY) {
            if (port == 0) return true;
            if (proto != Protocol.TCP && proto != Protocol.UDP && proto != Protocol.SCTP) return false;
        } else if (protocol != proto) {
            return false;
        } else if (icmp(protocol)) {
            return p == port;
        }
        return port == 0 || (p >= port && p <= endPort);
    }

    static boolean icmp(Protocol p) {
        return p == Protocol.ICMP || p == Protocol.ICMPV6;
    }

    /** Whether this entry covers {@code p}/{@code proto} on a destination that declares {@code destinationPorts}. */
    boolean matches(int p, Protocol proto, List<NamedPort> destinationPorts) {
        for (PortSpec s : resolve(destinationPorts)) if (s.matches(p, proto)) return true;
        return false;
    }

    @Override
    public String toString() {
        if (name != null) return name + "/" + protocol;
        if (protocol == Protocol.ANY && port == 0) return "all";
        if (icmp(protocol)) return "type " + port + "/" + protocol;
        String ports = port == 0 ? "*" : endPort > port ? port + "-" + endPort : String.valueOf(port);
        return ports + "/" + protocol;
    }
}
