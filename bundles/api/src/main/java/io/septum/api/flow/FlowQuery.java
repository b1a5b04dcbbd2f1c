package io.septum.api.flow;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A flow query as the front ends receive it: query parameters named as {@code septum observe}'s options
 * ({@code from-endpoint}, {@code verdict}, {@code since}, ..., {@code last}), read into the one {@link FlowFilter}.
 * The REST API ({@code /v1/flows}) and the web UI ({@code /api/flows}, {@code /api/stream}) both parse with it, so a
 * filter means the same everywhere and is refused with the same words.
 *
 * @param filter what the flows must match
 * @param last   the last N matching flows (0: every flow in the ring)
 */
public record FlowQuery(FlowFilter filter, int last) {
    /** The parameters every flow query takes. */
    public static final Set<String> PARAMETERS = Set.of("from-endpoint", "to-endpoint", "from-label", "to-label",
            "from-ip", "to-ip", "namespace", "verdict", "type", "protocol", "port", "http-method", "http-path",
            "http-status", "since", "until", "last");

    /**
     * Reads URL-decoded query parameters. An empty value means unset (a filter bar sends its empty fields);
     * {@code from-label} and {@code to-label} may repeat or be comma-separated; {@code since} and {@code until} are
     * nanoseconds since the epoch or what {@link FlowFilter#parseTime} reads.
     *
     * @param query       parameter name to its values, in order
     * @param defaultLast {@code last} when the query does not give it
     * @param extra       parameters the caller reads itself (e.g. {@code follow}), accepted and ignored here
     * @throws IllegalArgumentException naming the unknown parameter or the bad value
     */
    public static FlowQuery parse(Map<String, List<String>> query, int defaultLast, Set<String> extra) {
        for (String k : query.keySet()) {
            if (!PARAMETERS.contains(k) && !extra.contains(k)) {
                Set<String> known = new TreeSet<>(PARAMETERS);
                known.addAll(extra);
                throw new IllegalArgumentException("unknown flow filter \"" + k + "\" (expected one of " + known + ")");
            }
        }
        long now = System.currentTimeMillis() * 1_000_000L;
        FlowFilter.Builder b = FlowFilter.builder()
                .fromEndpoint(one(query, "from-endpoint")).toEndpoint(one(query, "to-endpoint"))
                .fromLabel(many(query, "from-label")).toLabel(many(query, "to-label"))
                .fromIp(one(query, "from-ip")).toIp(one(query, "to-ip")).namespace(one(query, "namespace"))
                .verdict(one(query, "verdict")).type(one(query, "type")).protocol(one(query, "protocol"))
                .httpMethod(one(query, "http-method")).httpPath(one(query, "http-path"))
                .httpStatus(one(query, "http-status"));
        String port = one(query, "port");
        if (port != null) b.port(number("port", port));
        String since = one(query, "since");
        if (since != null) b.since(time(since, now));
        String until = one(query, "until");
        if (until != null) b.until(time(until, now));
        String l = one(query, "last");
        int last = l == null ? defaultLast : number("last", l);
        if (last < 0) throw new IllegalArgumentException("last must be 0 (every flow) or more, not " + last);
        return new FlowQuery(b.build(), last);
    }

    private static long time(String s, long now) {
        if (s.chars().allMatch(Character::isDigit)) return Long.parseLong(s);
        return FlowFilter.parseTime(s, now);
    }

    private static int number(String name, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + "=" + v + " is not a number");
        }
    }

    /** One value, stripped; empty means unset. */
    private static String one(Map<String, List<String>> q, String k) {
        List<String> v = q.get(k);
        if (v == null || v.isEmpty()) return null;
        if (v.size() > 1) {
            throw new IllegalArgumentException("the flow filter " + k + " is given " + v.size() + " times; give it once");
        }
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
