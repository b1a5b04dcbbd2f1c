package io.septum.api.datapath;

import io.septum.api.policy.Direction;
import io.septum.api.policy.Protocol;

/**
 * A port the host firewall always opens for the host's own traffic, whatever host policy says, so that an operator
 * cannot lock themself out (Calico's failsafe ports): {@code INGRESS TCP 22} lets SSH in, {@code EGRESS UDP 53} lets
 * the host's lookups out.
 *
 * @param direction the host's direction
 * @param protocol  TCP or UDP
 * @param port      the destination port, 1-65535
 * @since 1.5
 */
public record FailsafePort(Direction direction, Protocol protocol, int port) {
    public FailsafePort {
        if (direction == null) throw new IllegalArgumentException("a failsafe port needs a direction");
        if (protocol != Protocol.TCP && protocol != Protocol.UDP) {
            throw new IllegalArgumentException("a failsafe port is TCP or UDP, not " + protocol);
        }
        if (port < 1 || port > 65535) throw new IllegalArgumentException("failsafe port " + port + " is not 1-65535");
    }

    /**
     * Parses {@code tcp:22} or {@code udp:53} (Calico's notation; {@code 22} alone is TCP) for {@code direction}.
     *
     * @throws IllegalArgumentException with the reason
     */
    public static FailsafePort parse(Direction direction, String text) {
        String t = text == null ? "" : text.trim().toLowerCase(java.util.Locale.ROOT);
        int colon = t.indexOf(':');
        String proto = colon < 0 ? "tcp" : t.substring(0, colon);
        String port = colon < 0 ? t : t.substring(colon + 1);
        Protocol p = switch (proto) {
            case "tcp" -> Protocol.TCP;
            case "udp" -> Protocol.UDP;
            default -> throw new IllegalArgumentException("failsafe port \"" + text + "\": protocol must be tcp or udp");
        };
        int n;
        try {
            n = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("failsafe port \"" + text + "\": \"" + port + "\" is not a port number");
        }
        if (n < 1 || n > 65535) throw new IllegalArgumentException("failsafe port \"" + text + "\": must be 1-65535");
        return new FailsafePort(direction, p, n);
    }

    @Override
    public String toString() {
        return direction + " " + protocol.name().toLowerCase(java.util.Locale.ROOT) + ":" + port;
    }
}
