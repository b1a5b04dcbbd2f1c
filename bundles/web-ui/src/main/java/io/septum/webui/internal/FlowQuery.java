package io.septum.webui.internal;

import io.septum.api.flow.FlowFilter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The UI's flow filters: query parameters named as {@code septum observe}'s options and {@code /v1/flows}'s
 * parameters, read into the one {@link FlowFilter}. An unknown parameter or a bad value is a 400 naming it.
 *
 * @param last the last N matching flows (0: every flow in the ring)
 */
record FlowQuery(FlowFilter filter, int last) {
    static final Set<String> PARAMETERS = Set.of("from-endpoint", "to-endpoint", "from-label", "to-label", "from-ip",
            "to-ip", "namespace", "verdict", "type", "protocol", "port", "http-method", "http-path", "http-status",
            "since", "until", "last");

    static FlowQuery parse(Map<String, List<String>> q, int defaultLast) {
        for (String k : q.keySet()) {
            if (!PARAMETERS.contains(k)) {
                throw new UiException(400, "unknown flow filter \"" + k + "\" (expected one of " + new TreeSet<>(PARAMETERS) + ")");
            }
        }
        long now = System.currentTimeMillis() * 1_000_000L;
        try {
            FlowFilter.Builder b = FlowFilter.builder()
                    .fromEndpoint(one(q, "from-endpoint")).toEndpoint(one(q, "to-endpoint"))
                    .fromLabel(many(q, "from-label")).toLabel(many(q, "to-label"))
                    .fromIp(one(q, "from-ip")).toIp(one(q, "to-ip")).namespace(one(q, "namespace"))
                    .verdict(one(q, "verdict")).type(one(q, "type")).protocol(one(q, "protocol"))
                    .httpMethod(one(q, "http-method")).httpPath(one(q, "http-path")).httpStatus(one(q, "http-status"));
            String port = one(q, "port");
            if (port != null) b.port(number("port", port));
            String since = one(q, "since");
            if (since != null) b.since(time(since, now));
            String until = one(q, "until");
            if (until != null) b.until(time(until, now));
            String l = one(q, "last");
            int last = l == null ? defaultLast : number("last", l);
            if (last < 0) throw new UiException(400, "last must be 0 (every flow) or more, not " + last);
            return new FlowQuery(b.build(), last);
        } catch (IllegalArgumentException e) {
            throw new UiException(400, e.getMessage());
        }
    }

    private static long time(String s, long now) {
        if (s.chars().allMatch(Character::isDigit)) return Long.parseLong(s);
        return FlowFilter.parseTime(s, now);
    }

    private static int number(String name, String v) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new UiException(400, name + "=" + v + " is not a number");
        }
    }

    /** One value; empty means unset (the filter bar sends its empty fields). */
    private static String one(Map<String, List<String>> q, String k) {
        List<String> v = q.get(k);
        if (v == null || v.isEmpty()) return null;
        if (v.size() > 1) throw new UiException(400, "the flow filter " + k + " is given " + v.size() + " times; give it once");
        String s = v.get(0).strip();
        return s.isEmpty() ? null : s;
    }

    private static List<String> many(Map<String, List<String>> q, String k) {
        List<String> out = new ArrayList<>();
        for (String v : q.getOrDefault(k, List.of())) {
            for (String part : v.split(",")) if (!part.isBlank()) out.add(part.strip());
        }
        return out;
    }
}
