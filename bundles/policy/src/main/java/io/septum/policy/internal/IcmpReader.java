package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;
import static io.septum.policy.internal.YamlNodes.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.septum.api.policy.Protocol;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A CiliumNetworkPolicy rule's {@code icmps}: {@code [{fields: [{type: 8, family: IPv4}]}]}, each field one ICMP (or,
 * with {@code family: IPv6}, ICMPv6) message type, by number or by Cilium's name ({@code EchoRequest}). Each becomes
 * a port spec of protocol ICMP/ICMPv6 whose "port" is the type, as in Cilium's policy map; a rule with
 * {@code icmps} allows (or denies) those types only, and no other traffic.
 */
final class IcmpReader {
    /** Cilium's limit on fields per {@code icmps} entry. */
    static final int MAX_FIELDS = 40;

    private static final Map<String, Integer> V4 = Map.ofEntries(
            Map.entry("EchoReply", 0), Map.entry("DestinationUnreachable", 3), Map.entry("Redirect", 5),
            Map.entry("Echo", 8), Map.entry("EchoRequest", 8), Map.entry("RouterAdvertisement", 9),
            Map.entry("RouterSelection", 10), Map.entry("TimeExceeded", 11), Map.entry("ParameterProblem", 12),
            Map.entry("Timestamp", 13), Map.entry("TimestampReply", 14), Map.entry("Photuris", 40),
            Map.entry("ExtendedEchoRequest", 42), Map.entry("ExtendedEchoReply", 43));
    private static final Map<String, Integer> V6 = Map.ofEntries(
            Map.entry("DestinationUnreachable", 1), Map.entry("PacketTooBig", 2), Map.entry("TimeExceeded", 3),
            Map.entry("ParameterProblem", 4), Map.entry("EchoRequest", 128), Map.entry("EchoReply", 129),
            Map.entry("MulticastListenerQuery", 130), Map.entry("MulticastListenerReport", 131),
            Map.entry("MulticastListenerDone", 132), Map.entry("RouterSolicitation", 133),
            Map.entry("RouterAdvertisement", 134), Map.entry("NeighborSolicitation", 135),
            Map.entry("NeighborAdvertisement", 136), Map.entry("RedirectMessage", 137),
            Map.entry("RouterRenumbering", 138), Map.entry("ICMPNodeInformationQuery", 139),
            Map.entry("ICMPNodeInformationResponse", 140), Map.entry("InverseNeighborDiscoverySolicitation", 141),
            Map.entry("InverseNeighborDiscoveryAdvertisement", 142),
            Map.entry("HomeAgentAddressDiscoveryRequest", 144), Map.entry("HomeAgentAddressDiscoveryReply", 145),
            Map.entry("MobilePrefixSolicitation", 146), Map.entry("MobilePrefixAdvertisement", 147),
            Map.entry("DuplicateAddressRequestCodeSuffix", 157),
            Map.entry("DuplicateAddressConfirmationCodeSuffix", 158), Map.entry("ExtendedEchoRequest", 160),
            Map.entry("ExtendedEchoReply", 161));

    private IcmpReader() {
    }

    /** The port rule of {@code icmps} (its value at {@code path}), or null with the errors reported. */
    static PortRule read(Diagnostics diag, JsonNode icmps, String path) {
        if (!diag.isList(icmps, path)) return null;
        int before = diag.count();
        List<PortSpec> specs = new ArrayList<>();
        diag.eachObject(icmps, path, "{fields: [...]}", Set.of("fields"), (ep, entry) -> {
            JsonNode fields = entry.get("fields");
            String fp = join(ep, "fields");
            if (fields == null || fields.isNull() || (fields.isArray() && fields.isEmpty())) {
                diag.error(fp, "missing fields: list at least one {type, family}");
                return;
            }
            if (!diag.isList(fields, fp)) return;
            if (fields.size() > MAX_FIELDS) {
                diag.error(fp, "too many fields (" + fields.size() + "): at most " + MAX_FIELDS + " per entry");
            }
            for (int j = 0; j < fields.size(); j++) {
                PortSpec s = field(diag, fields.get(j), fp + "[" + j + "]");
                if (s != null && !specs.contains(s)) specs.add(s);
            }
        });
        if (diag.count() > before || specs.isEmpty()) return null;
        return new PortRule(0, specs, false, List.of());
    }

    private static PortSpec field(Diagnostics diag, JsonNode f, String path) {
        if (!f.isObject()) {
            diag.error(path, "expected {type, family}, found " + nodeType(f));
            return null;
        }
        diag.unknownFields(f, path, Set.of("type", "family"));
        String family = text(f.get("family"));
        Protocol protocol;
        if (family == null || family.equals("IPv4")) {
            protocol = Protocol.ICMP;
        } else if (family.equals("IPv6")) {
            protocol = Protocol.ICMPV6;
        } else {
            diag.error(join(path, "family"), "unknown family \"" + family + "\" (expected IPv4 or IPv6)");
            return null;
        }
        JsonNode t = f.get("type");
        String tp = join(path, "type");
        if (t == null || t.isNull()) {
            diag.error(tp, "missing type (a number 0-255 or a name such as EchoRequest)");
            return null;
        }
        String text = text(t);
        Map<String, Integer> names = protocol == Protocol.ICMP ? V4 : V6;
        int type;
        if (text != null && text.matches("\\d{1,3}")) {
            type = Integer.parseInt(text);
            if (type > 255) {
                diag.error(tp, "invalid type " + type + ": must be 0-255");
                return null;
            }
        } else if (text != null && names.containsKey(text)) {
            type = names.get(text);
        } else {
            diag.error(tp, "unknown " + (protocol == Protocol.ICMP ? "ICMP" : "ICMPv6") + " type "
                    + (text == null ? nodeType(t) : "\"" + text + "\"") + " (a number 0-255 or one of "
                    + String.join(", ", new TreeSet<>(names.keySet())) + ")");
            return null;
        }
        return new PortSpec(protocol, type, type);
    }
}
