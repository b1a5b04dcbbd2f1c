package io.septum.policy.internal;

import io.septum.api.policy.HttpRequestInfo;
import java.util.List;
import java.util.Locale;

/**
 * One entry of {@code toPorts[].rules.http}, compiled at import so that judging a request costs a few regex
 * matches and map lookups. Cilium's semantics: every field that is present must match, {@code method},
 * {@code path} and {@code host} as RE2 regular expressions ({@link L7Regex}) against the whole value, every
 * header must be present (with the given value when one is given); an entry with no field at all ({@code {}})
 * matches every request.
 *
 * @param index   position in its {@code http} list, for the rule's name in verdicts
 * @param method  null when any method matches
 * @param path    null when any path matches
 * @param host    null when any (or no) Host matches
 * @param headers headers that must be present
 */
record HttpRule(int index, L7Regex method, L7Regex path, L7Regex host, List<HeaderReq> headers) {
    HttpRule {
        headers = List.copyOf(headers);
    }

    /**
     * A required header: {@code name} lower-cased (header names are case-insensitive); {@code value} null when
     * presence is enough, else one of the header's values must equal it exactly.
     */
    record HeaderReq(String name, String value) {
        HeaderReq {
            name = name.toLowerCase(Locale.ROOT);
        }

        boolean matches(HttpRequestInfo request) {
            List<String> values = request.headers().get(name);
            if (values == null && name.equals("host") && request.host() != null) values = List.of(request.host());
            if (values == null || values.isEmpty()) return false;
            if (value == null) return true;
            for (String v : values) if (value.equals(v.strip())) return true;
            return false;
        }

        @Override
        public String toString() {
            return value == null ? name : name + ": " + value;
        }
    }

    /**
     * Cilium's {@code headers} strings: {@code "X-Has-Force: true"} (name and exact value) or {@code "X-Token"}
     * (present). Cilium splits at the first space and drops a trailing colon from the name; a colon without a
     * space ({@code "X-Key:v"}) is read the same way, which is what a user writing it means.
     */
    static HeaderReq parseHeader(String text) {
        String t = text.strip();
        int colon = t.indexOf(':');
        int space = indexOfWhitespace(t);
        String name;
        String value;
        if (colon > 0 && (space < 0 || colon < space)) {
            name = t.substring(0, colon).strip();
            value = t.substring(colon + 1).strip();
        } else if (space > 0) {
            name = t.substring(0, space).strip();
            value = t.substring(space + 1).strip();
        } else {
            name = t;
            value = "";
        }
        return new HeaderReq(name, value.isEmpty() ? null : value);
    }

    private static int indexOfWhitespace(String s) {
        for (int i = 0; i < s.length(); i++) if (Character.isWhitespace(s.charAt(i))) return i;
        return -1;
    }

    boolean matches(HttpRequestInfo request) {
        if (method != null && (request.method() == null || !method.matchesWhole(request.method()))) return false;
        if (path != null && (request.path() == null || !path.matchesWhole(request.path()))) return false;
        if (host != null && (request.host() == null || !host.matchesWhole(request.host()))) return false;
        for (HeaderReq h : headers) if (!h.matches(request)) return false;
        return true;
    }

    /** How {@code policy trace} and {@code policy get} show it: {@code method=POST path=/v1/x}. */
    String describe() {
        StringBuilder b = new StringBuilder();
        if (method != null) b.append("method=").append(method.source()).append(' ');
        if (path != null) b.append("path=").append(path.source()).append(' ');
        if (host != null) b.append("host=").append(host.source()).append(' ');
        for (HeaderReq h : headers) b.append("header=\"").append(h).append("\" ");
        return b.isEmpty() ? "{} (any request)" : b.toString().strip();
    }
}
