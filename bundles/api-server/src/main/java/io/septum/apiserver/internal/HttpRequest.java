package io.septum.apiserver.internal;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One parsed request.
 *
 * @param target  the request target as sent ({@code /v1/endpoints/default%2Fdb?x=1})
 * @param headers lower-case header names to values (repeated headers joined by {@code ", "})
 * @param caller  who sent it, as the kernel says ({@link UnixCaller}), null when unknown
 */
public record HttpRequest(String method, String target, String version, Map<String, String> headers, byte[] body,
                          UnixCaller.Peer caller) {
    public HttpRequest {
        headers = Map.copyOf(headers);
        body = body == null ? new byte[0] : body;
    }

    public HttpRequest(String method, String target, String version, Map<String, String> headers, byte[] body) {
        this(method, target, version, headers, body, null);
    }

    /** This request as sent by {@code caller}. */
    public HttpRequest withCaller(UnixCaller.Peer caller) {
        return new HttpRequest(method, target, version, headers, body, caller);
    }

    /** Who sent it, as the policy history records an author ({@code uid 0 (root)}); null when unknown. */
    public String author() {
        return caller == null ? null : caller.name();
    }

    public String header(String name) {
        return headers.get(name.toLowerCase(Locale.ROOT));
    }

    /** The path without the query string, still encoded. */
    public String rawPath() {
        int q = target.indexOf('?');
        return q < 0 ? target : target.substring(0, q);
    }

    /**
     * The path's segments, each URL-decoded after splitting, so that an encoded {@code /} ({@code %2F}) stays
     * inside its segment: {@code /v1/endpoints/default%2Fdb} gives {@code [v1, endpoints, default/db]}.
     */
    public List<String> segments() {
        List<String> out = new ArrayList<>();
        for (String s : rawPath().split("/")) {
            if (s.isEmpty()) continue;
            try {
                out.add(URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw new HttpException(400, "bad percent-encoding in the path segment \"" + s + "\"");
            }
        }
        return out;
    }

    /**
     * The query string's parameters, URL-decoded, in order; a parameter given several times has several values,
     * one given without {@code =} has the value {@code ""}.
     */
    public Map<String, List<String>> query() {
        Map<String, List<String>> out = new java.util.LinkedHashMap<>();
        int q = target.indexOf('?');
        if (q < 0) return out;
        for (String part : target.substring(q + 1).split("&")) {
            if (part.isEmpty()) continue;
            int eq = part.indexOf('=');
            String k = eq < 0 ? part : part.substring(0, eq);
            String v = eq < 0 ? "" : part.substring(eq + 1);
            try {
                out.computeIfAbsent(URLDecoder.decode(k, StandardCharsets.UTF_8), x -> new ArrayList<>())
                        .add(URLDecoder.decode(v, StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw new HttpException(400, "bad percent-encoding in the query parameter \"" + part + "\"");
            }
        }
        return out;
    }

    public String bodyText() {
        return new String(body, StandardCharsets.UTF_8);
    }
}
