package io.septum.api.policy;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One HTTP request as the L7 proxy judges it: after path normalization, so that a rule's {@code path} regular
 * expression sees the canonical path ({@code /v1/../v1/x} and {@code //v1/x} are {@code /v1/x}).
 *
 * @param method  request method, as sent (e.g. {@code POST})
 * @param path    normalized path, without the query string
 * @param host    the {@code Host} header (or the authority of an absolute-form target), null when absent
 * @param headers every header, names lower-cased, values in the order received
 */
public record HttpRequestInfo(String method, String path, String host, Map<String, List<String>> headers) {
    public HttpRequestInfo {
        TreeMap<String, List<String>> h = new TreeMap<>();
        if (headers != null) headers.forEach((k, v) -> h.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
        headers = Map.copyOf(h);
    }

    /** A request with no headers besides the host, for probes such as the corpus's {@code http:} entries. */
    public static HttpRequestInfo of(String method, String path) {
        return new HttpRequestInfo(method, path, null, Map.of());
    }
}
