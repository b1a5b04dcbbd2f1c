package io.septum.api.flow;

import io.septum.api.Label;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code septum observe}, the console's {@code observe} and {@code /v1/flows} select. Every field is
 * optional (null or empty matches everything); a flow must match every field that is set.
 *
 * @param fromEndpoint source endpoint: id, {@code namespace/name} or bare name
 * @param toEndpoint   destination endpoint, likewise
 * @param fromLabel    labels the source must all carry: {@code key=value} (any source) or {@code source:key=value}
 * @param toLabel      labels the destination must all carry
 * @param fromIp       source address, or a prefix such as {@code 10.199.0.0/16}
 * @param toIp         destination address or prefix
 * @param namespace    the source or the destination is in this namespace
 * @param verdict      FORWARDED, DROPPED, AUDIT or REDIRECTED
 * @param type         drop, policy-verdict, trace or l7
 * @param protocol     TCP, UDP, SCTP, ICMPv4, ICMPv6
 * @param port         the source or the destination port
 * @param httpMethod   HTTP method of an L7 flow
 * @param httpPath     prefix of the URL's path of an L7 flow
 * @param httpStatus   HTTP status code of an L7 flow ({@code 404}), or a class of them ({@code 5+})
 * @param since        only flows at or after this time, nanoseconds since the epoch
 * @param until        only flows at or before this time, nanoseconds since the epoch
 */
public record FlowFilter(
        String fromEndpoint,
        String toEndpoint,
        List<String> fromLabel,
        List<String> toLabel,
        String fromIp,
        String toIp,
        String namespace,
        String verdict,
        String type,
        String protocol,
        Integer port,
        String httpMethod,
        String httpPath,
        String httpStatus,
        Long since,
        Long until) {
    /** Matches every flow. */
    public static final FlowFilter ALL = new FlowFilter(null, null, null, null, null, null, null, null, null, null,
            null, null, null, null, null, null);

    public FlowFilter {
        fromLabel = fromLabel == null ? List.of() : List.copyOf(fromLabel);
        toLabel = toLabel == null ? List.of() : List.copyOf(toLabel);
        if (port != null && (port < 0 || port > 65535)) throw new IllegalArgumentException("port " + port + " is out of range 0-65535");
        if (type != null && !type.isBlank() && !List.of(Flow.TYPE_DROP, Flow.TYPE_POLICY_VERDICT, Flow.TYPE_TRACE, Flow.TYPE_L7)
                .contains(type.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("unknown flow type \"" + type + "\" (expected drop, policy-verdict, trace or l7)");
        }
        if (verdict != null && !verdict.isBlank() && !List.of(Flow.FORWARDED, Flow.DROPPED, Flow.AUDIT, Flow.REDIRECTED)
                .contains(verdict.toUpperCase(Locale.ROOT))) {
            throw new IllegalArgumentException("unknown verdict \"" + verdict + "\" (expected FORWARDED, DROPPED, AUDIT or REDIRECTED)");
        }
        if (httpStatus != null && !httpStatus.isBlank() && !httpStatus.strip().matches("[1-5](\\+|[0-9][0-9])")) {
            throw new IllegalArgumentException("bad HTTP status \"" + httpStatus + "\" (expected a code such as 404, or a class such as 5+)");
        }
        for (String l : fromLabel) Label.parse(l);
        for (String l : toLabel) Label.parse(l);
        if (fromIp != null && !fromIp.isBlank()) prefix(fromIp);
        if (toIp != null && !toIp.isBlank()) prefix(toIp);
    }

    /** Whether {@code f} passes every condition that is set. */
    public boolean matches(Flow f) {
        if (since != null && f.timeNanos() < since) return false;
        if (until != null && f.timeNanos() > until) return false;
        if (set(verdict) && !verdict.equalsIgnoreCase(f.verdict())) return false;
        if (set(type) && !type.equalsIgnoreCase(f.eventType())) return false;
        if (!endpoint(fromEndpoint, f.source()) || !endpoint(toEndpoint, f.destination())) return false;
        if (!labels(fromLabel, f.source()) || !labels(toLabel, f.destination())) return false;
        if (set(fromIp) && (f.ip() == null || !ipMatches(fromIp, f.ip().source()))) return false;
        if (set(toIp) && (f.ip() == null || !ipMatches(toIp, f.ip().destination()))) return false;
        if (set(namespace) && !namespace.equals(ns(f.source())) && !namespace.equals(ns(f.destination()))) return false;
        if (set(protocol) && (f.l4() == null || !protocolMatches(protocol, f.l4().protocol()))) return false;
        if (port != null && (f.l4() == null || (f.l4().sourcePort() != port && f.l4().destinationPort() != port))) return false;
        if (set(httpMethod) || set(httpPath) || set(httpStatus)) {
            FlowHttp h = f.l7() == null ? null : f.l7().http();
            if (h == null) return false;
            if (set(httpMethod) && !httpMethod.equalsIgnoreCase(h.method())) return false;
            if (set(httpPath) && (h.url() == null || !path(h.url()).startsWith(httpPath))) return false;
            if (set(httpStatus) && !statusMatches(httpStatus.strip(), h.code())) return false;
        }
        return true;
    }

    private static boolean set(String s) {
        return s != null && !s.isBlank();
    }

    private static String ns(FlowEndpoint e) {
        return e == null ? null : e.namespace();
    }

    private static boolean endpoint(String want, FlowEndpoint e) {
        if (!set(want)) return true;
        if (e == null) return false;
        String w = want.strip();
        if (w.chars().allMatch(Character::isDigit)) return e.id() != 0 && Long.parseLong(w) == e.id();
        if (e.name() == null) return false;
        return w.contains("/") ? w.equals(e.qualifiedName()) : w.equals(e.name());
    }

    private static boolean labels(List<String> want, FlowEndpoint e) {
        if (want.isEmpty()) return true;
        if (e == null) return false;
        List<Label> have = new ArrayList<>();
        for (String l : e.labels()) {
            try {
                have.add(Label.parse(l));
            } catch (IllegalArgumentException notALabel) {
                // a damaged or foreign flow log line: its malformed label matches nothing, the query goes on
            }
        }
        for (String text : want) {
            Label w = Label.parse(text);
            boolean found = have.stream().anyMatch(h -> w.sourceMatches(h.source()) && w.key().equals(h.key())
                    && (w.value().isEmpty() || w.value().equals(h.value())));
            if (!found) return false;
        }
        return true;
    }

    private static boolean protocolMatches(String want, String have) {
        if (have == null) return false;
        String w = want.strip().toUpperCase(Locale.ROOT);
        String h = have.toUpperCase(Locale.ROOT);
        return w.equals(h) || (w.equals("ICMP") && h.equals("ICMPV4"));
    }

    private static String path(String url) {
        int scheme = url.indexOf("://");
        String rest = scheme >= 0 ? url.substring(scheme + 3) : url;
        if (scheme >= 0) {
            int slash = rest.indexOf('/');
            rest = slash >= 0 ? rest.substring(slash) : "/";
        }
        int q = rest.indexOf('?');
        return q >= 0 ? rest.substring(0, q) : rest;
    }

    private static boolean statusMatches(String want, int code) {
        if (want.endsWith("+")) return code / 100 == want.charAt(0) - '0';
        return Integer.parseInt(want) == code;
    }

    private static io.septum.api.IpPrefix prefix(String text) {
        try {
            return io.septum.api.IpPrefix.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad IP address or prefix \"" + text + "\"");
        }
    }

    private static boolean ipMatches(String want, String have) {
        if (have == null || have.isEmpty()) return false;
        io.septum.api.IpPrefix p = prefix(want);
        try {
            return p.contains(io.septum.api.IpPrefix.parse(have));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a filter field by field; {@link #build()} validates it. */
    public static final class Builder {
        private String fromEndpoint, toEndpoint, fromIp, toIp, namespace, verdict, type, protocol;
        private String httpMethod, httpPath, httpStatus;
        private List<String> fromLabel = List.of(), toLabel = List.of();
        private Integer port;
        private Long since, until;

        public Builder fromEndpoint(String v) { fromEndpoint = v; return this; }
        public Builder toEndpoint(String v) { toEndpoint = v; return this; }
        public Builder fromLabel(List<String> v) { fromLabel = v; return this; }
        public Builder toLabel(List<String> v) { toLabel = v; return this; }
        public Builder fromIp(String v) { fromIp = v; return this; }
        public Builder toIp(String v) { toIp = v; return this; }
        public Builder namespace(String v) { namespace = v; return this; }
        public Builder verdict(String v) { verdict = v; return this; }
        public Builder type(String v) { type = v; return this; }
        public Builder protocol(String v) { protocol = v; return this; }
        public Builder port(Integer v) { port = v; return this; }
        public Builder httpMethod(String v) { httpMethod = v; return this; }
        public Builder httpPath(String v) { httpPath = v; return this; }
        public Builder httpStatus(String v) { httpStatus = v; return this; }
        public Builder since(Long v) { since = v; return this; }
        public Builder until(Long v) { until = v; return this; }

        public FlowFilter build() {
            return new FlowFilter(fromEndpoint, toEndpoint, fromLabel, toLabel, fromIp, toIp, namespace, verdict, type,
                    protocol, port, httpMethod, httpPath, httpStatus, since, until);
        }
    }

    /**
     * A time for {@code --since}/{@code --until}: a duration back from {@code nowNanos} ({@code 30s}, {@code 5m},
     * {@code 2h}, {@code 1d}) or an RFC 3339 time ({@code 2026-11-27T04:31:37Z}). Returns nanoseconds since the epoch.
     */
    public static long parseTime(String text, long nowNanos) {
        return parseTimeAt(text, nowNanos);
    }

    /**
     * A {@code since} parameter ({@link #parseTime} from now) as an instant, or null when {@code text} is null or
     * blank: how {@code policy suggest} and {@code policy impact} read their window. Since 1.7.
     */
    public static java.time.Instant since(String text) {
        if (text == null || text.isBlank()) return null;
        return java.time.Instant.ofEpochSecond(0, parseTimeAt(text, System.currentTimeMillis() * 1_000_000L));
    }

    private static long parseTimeAt(String text, long nowNanos) {
        String s = text == null ? "" : text.strip();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m|h|d)").matcher(s);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            long unit = switch (m.group(2)) {
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "h" -> 3_600_000_000_000L;
                default -> 86_400_000_000_000L;
            };
            return nowNanos - n * unit;
        }
        try {
            java.time.Instant t = java.time.OffsetDateTime.parse(s).toInstant();
            return t.getEpochSecond() * 1_000_000_000L + t.getNano();
        } catch (java.time.format.DateTimeParseException e) {
            throw new IllegalArgumentException("bad time \"" + text + "\" (expected a duration such as 5m, 2h, 1d, "
                    + "or an RFC 3339 time such as 2026-11-27T04:31:37Z)");
        }
    }
}
