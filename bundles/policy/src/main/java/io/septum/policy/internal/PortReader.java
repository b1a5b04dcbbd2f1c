package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.api.NamedPort;
import io.septum.api.policy.Protocol;
import java.util.Locale;
import java.util.Set;

/**
 * Reads one port entry, the same shape in both schemas: Cilium's {@code toPorts[].ports[]} and NetworkPolicy's
 * {@code ports[]}, for example
 * <pre>{@code
 * {port: "8000", endPort: 8080, protocol: TCP}
 * }</pre>
 * A port is a number, a string of digits, or a port name ({@code port: http}, IANA_SVC_NAME rules) that each
 * destination endpoint resolves ({@link PortSpec#resolve}); {@code endPort} makes a numbered port a range and needs
 * a port at or below it, and is refused with a name. What the schemas do differently is a {@link Schema}: {@link #CILIUM} or {@link #KUBERNETES}.
 */
final class PortReader {
    private static final Set<String> FIELDS = Set.of("port", "endPort", "protocol");

    /**
     * What differs between the schemas' port entries.
     *
     * @param shape           the fields as the "expected ..." of an entry that is not a mapping names them
     * @param defaultProtocol the protocol when none is given
     * @param anyProtocol     whether {@code ANY} is a protocol (every one of TCP, UDP and SCTP)
     * @param zeroMeansAll    whether port 0 means every port (else it is invalid; a missing port is every port in
     *                        both)
     * @param icmpHint        whether {@code ICMP}/{@code ICMPv6} get their own error pointing at {@code icmps}
     * @param protocolFirst   whether protocol is read before port, which decides the order of their errors; kept as
     *                        each schema always had it, so that {@code policy validate} prints the same lines
     */
    record Schema(String shape, Protocol defaultProtocol, boolean anyProtocol, boolean zeroMeansAll, boolean icmpHint,
                  boolean protocolFirst) {
    }

    /** CiliumNetworkPolicy {@code toPorts[].ports[]}: protocol ANY by default, port 0 is every port. */
    static final Schema CILIUM = new Schema("{port, endPort, protocol}", Protocol.ANY, true, true, true, false);
    /** Kubernetes NetworkPolicy {@code ports[]}: protocol TCP by default, TCP, UDP or SCTP only, ports 1-65535. */
    static final Schema KUBERNETES = new Schema("{protocol, port, endPort}", Protocol.TCP, false, false, false, true);

    private PortReader() {
    }

    /** One port entry; null (with errors) when any field is wrong. */
    static PortSpec read(Diagnostics diag, JsonNode pn, String path, Schema schema) {
        if (!pn.isObject()) {
            diag.error(path, "expected " + schema.shape() + ", found " + nodeType(pn));
            return null;
        }
        diag.unknownFields(pn, path, FIELDS);
        int errs = diag.count();
        Protocol proto = schema.protocolFirst() ? protocol(diag, pn.get("protocol"), path, schema) : null;
        String name = portName(diag, pn.get("port"), join(path, "port"), schema.zeroMeansAll());
        int port = name != null ? 0 : portNumber(diag, pn.get("port"), join(path, "port"), schema.zeroMeansAll());
        if (!schema.protocolFirst()) proto = protocol(diag, pn.get("protocol"), path, schema);
        JsonNode end = pn.get("endPort");
        int endPort = 0;
        if (name != null && end != null && !end.isNull()) {
            diag.error(join(path, "endPort"), "endPort " + end.asText().trim() + " cannot be used with named port \""
                    + name + "\": a range needs a numbered port");
        } else if (name == null) {
            endPort = endPort(diag, end, path, port);
        }
        if (diag.count() > errs || port < 0) return null;
        if (name != null) return PortSpec.named(proto, name);
        return new PortSpec(proto, port, port == 0 ? 0 : Math.max(port, endPort));
    }

    /** The port's name when it is a string that is not a number (checked by IANA_SVC_NAME rules), else null. */
    private static String portName(Diagnostics diag, JsonNode v, String path, boolean zeroMeansAll) {
        if (v == null || !v.isTextual()) return null;
        String t = v.asText().trim();
        if (t.isEmpty() || t.matches("[+-]?\\d+")) return null;
        String problem = NamedPort.nameProblem(t);
        if (problem != null) {
            diag.error(path, problem + "; a port is a number " + (zeroMeansAll ? "1-65535 (or 0 for all ports)"
                    : "1-65535") + " or a port name such as \"http\"");
        }
        return t;
    }

    /** The protocol; the schema's default when absent or (after an error) unknown. */
    private static Protocol protocol(Diagnostics diag, JsonNode pr, String path, Schema schema) {
        if (pr == null || pr.isNull()) return schema.defaultProtocol();
        String t = pr.asText().trim();
        String upper = t.toUpperCase(Locale.ROOT);
        switch (upper) {
            case "TCP":
                return Protocol.TCP;
            case "UDP":
                return Protocol.UDP;
            case "SCTP":
                return Protocol.SCTP;
            default:
                break;
        }
        if (schema.anyProtocol() && upper.equals("ANY")) return Protocol.ANY;
        if (schema.icmpHint() && (upper.equals("ICMP") || upper.equals("ICMPV6"))) {
            diag.error(join(path, "protocol"), "protocol \"" + t
                    + "\" is not a toPorts protocol: ICMP rules go in icmps, as in Cilium"
                    + " (icmps: [{fields: [{type: 8, family: IPv4}]}])");
        } else {
            diag.error(join(path, "protocol"), "unknown protocol \"" + t + "\" (expected "
                    + (schema.anyProtocol() ? "TCP, UDP, SCTP or ANY" : "TCP, UDP or SCTP") + ")");
        }
        return schema.defaultProtocol();
    }

    /**
     * A port: a number or a string of digits (names are {@link #portName}'s). Returns 0 for "all ports" (missing,
     * or "0" when allowed), -1 on error.
     */
    private static int portNumber(Diagnostics diag, JsonNode v, String path, boolean zeroMeansAll) {
        if (v == null || v.isNull()) return 0;
        String t = v.asText().trim();
        String range = zeroMeansAll ? "1-65535 (or 0 for all ports)" : "1-65535";
        if (v.isTextual() && t.isEmpty()) return 0;
        if (!v.isTextual() && !v.isIntegralNumber()) {
            diag.error(path, "invalid port \"" + t + "\": must be a number " + range);
            return -1;
        }
        long n;
        try {
            n = Long.parseLong(t.startsWith("+") ? t.substring(1) : t);
        } catch (NumberFormatException e) {
            n = Long.MAX_VALUE;
        }
        if (n < 0 || n > 65535 || (n == 0 && !zeroMeansAll)) {
            diag.error(path, "invalid port \"" + t + "\": must be " + range);
            return -1;
        }
        return (int) n;
    }

    private static int endPort(Diagnostics diag, JsonNode v, String path, int port) {
        if (v == null || v.isNull()) return 0;
        String f = join(path, "endPort");
        String t = v.asText().trim();
        if (!(v.isIntegralNumber() || (v.isTextual() && t.matches("\\d+")))) {
            diag.error(f, "invalid endPort \"" + t + "\": must be a number 1-65535");
            return -1;
        }
        long n = Long.parseLong(t.length() > 6 ? "999999" : t);
        if (n == 0) return 0;
        if (n > 65535) {
            diag.error(f, "invalid endPort \"" + t + "\": must be 1-65535");
            return -1;
        }
        if (port == 0) {
            diag.error(f, "endPort " + n + " needs a port: set port to the first port of the range");
            return -1;
        }
        if (port > 0 && n < port) {
            diag.error(f, "endPort " + n + " is below port " + port + ": endPort must be >= port");
            return -1;
        }
        return (int) n;
    }
}
