package io.septum.policy.internal;

import io.septum.api.policy.Protocol;

/**
 * One port entry of a rule. {@code port == 0} means every port of the protocol; {@link Protocol#ANY} with a port
 * means TCP, UDP and SCTP on that port, and with port 0 every protocol (ICMP included) and every port. For ICMP and
 * ICMPv6 ({@code icmps}) the "port" is the message type, always exact (type 0, echo reply, is not a wildcard).
 */
record PortSpec(Protocol protocol, int port, int endPort) {
    static final PortSpec ALL = new PortSpec(Protocol.ANY, 0, 0);

    boolean matches(int p, Protocol proto) {
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

    @Override
    public String toString() {
        if (protocol == Protocol.ANY && port == 0) return "all";
        if (icmp(protocol)) return "type " + port + "/" + protocol;
        String ports = port == 0 ? "*" : endPort > port ? port + "-" + endPort : String.valueOf(port);
        return ports + "/" + protocol;
    }
}
