package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;
import static io.septum.policy.internal.YamlNodes.present;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Reads CIDR peers: one CIDR string ({@code toCIDR: [10.0.0.0/8]}) and a CIDR with exceptions, which Cilium calls
 * {@code toCIDRSet}/{@code fromCIDRSet} and Kubernetes {@code ipBlock}, the same shape in both:
 * <pre>{@code
 * {cidr: 10.0.0.0/8, except: [10.96.0.0/12]}
 * }</pre>
 * Every {@code except} must lie inside its {@code cidr}; {@code cidrGroupRef} and {@code cidrGroupSelector} are
 * refused as not supported yet.
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

    static Peer cidrSet(Diagnostics diag, JsonNode s, String path, String cidrField) {
        if (!s.isObject()) {
            diag.error(path, "expected {" + cidrField + ": ..., except: [...]}, found " + nodeType(s));
            return null;
        }
        Iterator<String> names = s.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            if (f.equals(cidrField) || f.equals("except")) continue;
            diag.error(join(path, f), f.startsWith("cidrGroup") ? f + " is not supported yet"
                    : "unknown field \"" + f + "\" (expected " + cidrField + ", except)");
        }
        if (!present(s, cidrField)) {
            diag.error(join(path, cidrField), "missing " + cidrField);
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
}
