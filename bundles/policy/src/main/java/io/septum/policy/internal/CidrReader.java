package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;
import static io.septum.policy.internal.YamlNodes.present;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Reads CIDR peers: one CIDR string ({@code toCIDR: [10.0.0.0/8]}) and a CIDR with exceptions, which Cilium calls
 * {@code toCIDRSet}/{@code fromCIDRSet} and Kubernetes {@code ipBlock}, the same shape in both:
 * <pre>{@code
 * {cidr: 10.0.0.0/8, except: [10.96.0.0/12]}
 * }</pre>
 * Every {@code except} must lie inside its {@code cidr}. Cilium's sets may name a {@code CiliumCIDRGroup} instead of
 * a {@code cidr}, {@code {cidrGroupRef: NAME}}, or select groups by their labels, {@code {cidrGroupSelector:
 * {matchLabels: {...}}}} (either without {@code except}, which Cilium does not support with them either).
 */
final class CidrReader {
    private CidrReader() {
    }

    static Cidr cidr(Diagnostics diag, JsonNode v, String path) {
        if (v == null || !v.isTextual()) {
            diag.error(path, "expected a CIDR string such as 10.0.0.0/8 or fd00::/64, found " + nodeType(v));
            return null;
        }
        try {
            return Cidr.parse(v.asText());
        } catch (IllegalArgumentException e) {
            diag.error(path, "invalid CIDR \"" + v.asText() + "\": " + e.getMessage());
            return null;
        }
    }

    /** @param groups whether {@code cidrGroupRef} may stand for the {@code cidr} (Cilium's sets; not {@code ipBlock}) */
    static Peer cidrSet(Diagnostics diag, JsonNode s, String path, String cidrField, boolean groups) {
        if (!s.isObject()) {
            diag.error(path, "expected {" + cidrField + ": ..., except: [...]}, found " + nodeType(s));
            return null;
        }
        Iterator<String> names = s.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (f.equals(cidrField) || f.equals("except") || (groups && (f.equals(GROUP_REF) || f.equals(GROUP_SELECTOR)))) {
                continue;
            }
            boolean ipBlockGroup = !groups && f.startsWith("cidrGroup");
            diag.error(join(path, f), ipBlockGroup ? f + " is not supported in a NetworkPolicy's ipBlock"
                    : "unknown field \"" + f + "\" (expected " + cidrField + (groups ? ", " + GROUP_REF + ", "
                    + GROUP_SELECTOR : "") + ", except)");
        }
        if (groups && (present(s, GROUP_REF) || present(s, GROUP_SELECTOR))) return groupRef(diag, s, path, cidrField);
        if (!present(s, cidrField)) {
            diag.error(join(path, cidrField), "missing " + cidrField + (groups ? " (or " + GROUP_REF + " or "
                    + GROUP_SELECTOR + ")" : ""));
            return null;
        }
        Cidr c = cidr(diag, s.get(cidrField), join(path, cidrField));
        List<Cidr> except = new ArrayList<>();
        JsonNode ex = s.get("except");
        if (ex != null && !ex.isNull() && diag.isList(ex, join(path, "except"))) {
            for (int i = 0; i < ex.size(); i++) {
                String f = join(path, "except") + "[" + i + "]";
                Cidr e = cidr(diag, ex.get(i), f);
                if (e == null || c == null) continue;
                if (!c.contains(e)) {
                    diag.error(f, "except \"" + ex.get(i).asText() + "\" is not inside " + cidrField + " \""
                            + s.get(cidrField).asText() + "\": every except must be a sub-range of its " + cidrField);
                    continue;
                }
                except.add(e);
            }
        }
        return c == null ? null : new Peer.CidrSet(c, except);
    }

    static final String GROUP_REF = "cidrGroupRef";
    /** A Kubernetes object name (an RFC 1123 subdomain), as a CiliumCIDRGroup's must be. */
    static final Pattern OBJECT_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    static final String GROUP_SELECTOR = "cidrGroupSelector";

    /** {@code cidrGroupRef} or {@code cidrGroupSelector}: exactly one of them, and neither cidr nor except. */
    private static Peer groupRef(Diagnostics diag, JsonNode s, String path, String cidrField) {
        String field = present(s, GROUP_REF) ? GROUP_REF : GROUP_SELECTOR;
        if (present(s, cidrField) || (present(s, GROUP_REF) && present(s, GROUP_SELECTOR))) {
            diag.error(join(path, field), "a CIDR set has one of " + cidrField + ", " + GROUP_REF + " and "
                    + GROUP_SELECTOR + ", not several");
            return null;
        }
        if (present(s, "except")) {
            diag.error(join(path, "except"), "except cannot be used with " + field + " (Cilium does not support it"
                    + " either): list the ranges to leave out in the group, or use cidr with except");
            return null;
        }
        if (field.equals(GROUP_SELECTOR)) {
            Selector sel = SelectorReader.read(diag, s.get(GROUP_SELECTOR), join(path, GROUP_SELECTOR), false);
            return sel == null ? null : new Peer.CidrGroup(null, sel, List.of());
        }
        JsonNode ref = s.get(GROUP_REF);
        String name = ref.isTextual() ? ref.asText() : null;
        if (name == null || name.length() > 253 || !OBJECT_NAME.matcher(name).matches()) {
            diag.error(join(path, GROUP_REF), "expected the name of a CiliumCIDRGroup (lower case letters, digits, '-'"
                    + " and '.', at most 253 characters), found " + (name == null ? nodeType(ref) : "\"" + name + "\""));
            return null;
        }
        return new Peer.CidrGroup(name, null, List.of());
    }
}
