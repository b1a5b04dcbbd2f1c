package io.septum.policy.internal;

import static io.septum.policy.internal.FieldPath.join;
import static io.septum.policy.internal.YamlNodes.nodeType;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the L7 part of a Cilium {@code toPorts} entry, {@code rules}: its type ({@code http}, or {@code dns}, which
 * {@link DnsRuleReader} reads), and of {@code http} each
 * entry's {@code method}, {@code path} and {@code host} regular expressions (RE2 syntax, compiled here into
 * {@link L7Regex}, so a bad one is an error with RE2's reason), {@code headers} ({@code "Name: value"} or
 * {@code "Name"}) and {@code headerMatches} ({@code {name, value}}; {@code secret} and {@code mismatch} are
 * refused). For example:
 * <pre>{@code
 * rules: {http: [{method: GET, path: "/public/.*", headers: ["X-Token: x"]}]}
 * }</pre>
 * Whether a deny section or the ports allow L7 rules at all is checked by the caller,
 * {@link CiliumPolicyReader}.
 */
final class HttpRuleReader {
    private HttpRuleReader() {
    }

    private static final Set<String> UNSUPPORTED_L7 = Set.of("kafka", "l7proto", "l7");
    private static final Set<String> HTTP_FIELDS = Set.of("method", "path", "host", "headers", "headerMatches");

    /** Validates {@code rules} and compiles its HTTP rules into {@code out}; returns whether it holds HTTP rules. */
    static boolean read(Diagnostics diag, JsonNode rules, String path, List<HttpRule> out) {
        if (!rules.isObject()) {
            diag.error(path, "expected {http: [...]}, found " + nodeType(rules));
            return false;
        }
        int types = 0;
        Iterator<String> names = rules.fieldNames();
        while (names.hasNext()) {
            String f = names.next();
            JsonNode v = rules.get(f);
            if (v == null || v.isNull()) continue;
            types++;
            if (UNSUPPORTED_L7.contains(f)) {
                diag.error(join(path, f), "L7 rules of type " + f + " are not supported (only http and dns)");
            } else if (!f.equals("http") && !f.equals("dns")) {
                diag.error(join(path, f), "unknown L7 rule type \"" + f + "\" (expected http or dns)");
            }
        }
        if (types > 1) diag.error(path, "a rule may hold only one type of L7 rules, found " + types);
        JsonNode http = rules.get("http");
        if (http == null || http.isNull()) return false;
        String hp = join(path, "http");
        if (!diag.isList(http, hp)) return false;
        for (int i = 0; i < http.size(); i++) {
            HttpRule r = httpRule(diag, http.get(i), hp + "[" + i + "]", i);
            if (r != null) out.add(r);
        }
        return true;
    }

    private static final Set<String> HEADER_MATCH_FIELDS = Set.of("name", "value", "mismatch", "secret");
    /** RFC 9110 token characters: what a header name may hold. */
    private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    /** One {@code http} entry; null (with errors) when any field is wrong. */
    private static HttpRule httpRule(Diagnostics diag, JsonNode h, String p, int index) {
        if (!h.isObject()) {
            diag.error(p, "expected {method, path, host, headers}, found " + nodeType(h));
            return null;
        }
        int errs = diag.count();
        diag.unknownFields(h, p, HTTP_FIELDS);
        L7Regex method = regex(diag, h, p, "method");
        L7Regex path = regex(diag, h, p, "path");
        L7Regex host = regex(diag, h, p, "host");
        List<HttpRule.HeaderReq> headers = new ArrayList<>();
        JsonNode hs = h.get("headers");
        if (hs != null && !hs.isNull() && diag.isList(hs, join(p, "headers"))) {
            for (int j = 0; j < hs.size(); j++) {
                String f = join(p, "headers") + "[" + j + "]";
                if (!hs.get(j).isTextual()) {
                    diag.error(f, "expected a header string like \"X-Token: x\", found " + nodeType(hs.get(j)));
                    continue;
                }
                HttpRule.HeaderReq r = HttpRule.parseHeader(hs.get(j).asText());
                if (!HEADER_NAME.matcher(r.name()).matches()) {
                    diag.error(f, "invalid header \"" + hs.get(j).asText() + "\": expected \"Name: value\" or \"Name\" "
                            + "with a header name made of letters, digits and -");
                    continue;
                }
                headers.add(r);
            }
        }
        JsonNode hm = h.get("headerMatches");
        if (hm != null && !hm.isNull() && diag.isList(hm, join(p, "headerMatches"))) {
            diag.eachObject(hm, join(p, "headerMatches"), "{name, value}", HEADER_MATCH_FIELDS, (f, m) -> {
                JsonNode name = m.get("name");
                if (name == null || name.isNull() || !name.isTextual() || name.asText().isBlank()) {
                    diag.error(join(f, "name"), "a header match needs a name");
                    return;
                }
                if (!HEADER_NAME.matcher(name.asText().strip()).matches()) {
                    diag.error(join(f, "name"), "invalid header name \"" + name.asText() + "\"");
                    return;
                }
                if (m.hasNonNull("secret")) {
                    diag.error(join(f, "secret"), "header values from secrets are not supported: give value");
                    return;
                }
                if (m.hasNonNull("mismatch")) {
                    // every mismatch action makes the rule match anyway and edits or logs the header instead
                    diag.error(join(f, "mismatch"), "mismatch actions (LOG, ADD, DELETE, REPLACE) are not supported: "
                            + "remove mismatch so that a missing or different header fails the rule");
                    return;
                }
                JsonNode value = m.get("value");
                if (value != null && !value.isNull() && !value.isValueNode()) {
                    diag.error(join(f, "value"), "expected a string, found " + nodeType(value));
                    return;
                }
                String v = value == null || value.isNull() ? null : value.asText();
                headers.add(new HttpRule.HeaderReq(name.asText().strip(), v == null || v.isEmpty() ? null : v));
            });
        }
        if (diag.count() > errs) return null;
        return new HttpRule(index, method, path, host, headers);
    }

    /**
     * A regular expression field, compiled once with RE2 syntax, as Cilium reads it; null when absent or empty
     * (Cilium: any value). A pattern RE2 refuses (lookaround, backreferences, possessive quantifiers, ...) is an
     * error naming the field and RE2's reason.
     */
    private static L7Regex regex(Diagnostics diag, JsonNode h, String p, String f) {
        JsonNode v = h.get(f);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) {
            diag.error(join(p, f), "expected a regular expression string, found " + nodeType(v));
            return null;
        }
        if (v.asText().isEmpty()) return null;
        try {
            return L7Regex.compile(v.asText());
        } catch (L7Regex.Invalid e) {
            diag.error(join(p, f), "invalid regular expression \"" + v.asText() + "\" in " + f + " (RE2 syntax): "
                    + e.getMessage());
            return null;
        }
    }
}
