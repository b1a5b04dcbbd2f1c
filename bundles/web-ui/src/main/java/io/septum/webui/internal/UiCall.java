package io.septum.webui.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One request to the UI's API, with what the session check needs from its headers.
 *
 * @param host         the {@code Host} header (already checked to be a loopback name)
 * @param cookie       the {@code Cookie} header, or null
 * @param csrf         the {@code X-CSRF-Token} header, or null
 * @param origin       the {@code Origin} header, or null (browsers send it on every cross-site and every POST)
 * @param fetchSite    the {@code Sec-Fetch-Site} header, or null (older browsers and non-browsers)
 */
record UiCall(String method, String path, Map<String, List<String>> query, byte[] body, String host, String cookie,
        String csrf, String origin, String fetchSite) {
    static final String COOKIE = "septum_session";

    /** A call without headers: it can read and compute, never write. */
    static UiCall of(String method, String path, Map<String, List<String>> query, byte[] body) {
        return new UiCall(method, path, query, body, null, null, null, null, null);
    }

    void only(String allowed) {
        if (!method.equals(allowed)) throw new UiException(405, "method " + method + " not allowed here (allowed: " + allowed + ")");
    }

    /** The last value of a query parameter, or null. */
    String param(String name) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? null : v.get(v.size() - 1);
    }

    String bodyText() {
        return PolicyWorkbench.utf8(body);
    }

    JsonNode jsonBody(ObjectMapper mapper) {
        try {
            JsonNode n = body == null || body.length == 0 ? null : mapper.readTree(body);
            if (n == null || !n.isObject()) throw new UiException(400, "the body must be a JSON object");
            return n;
        } catch (IOException e) {
            throw new UiException(400, "the body is not JSON: " + e.getMessage());
        }
    }

    /**
     * The session of this browser's cookie, if it has a live one. Every {@code septum_session} value counts: another
     * server on a loopback port can set one of its own (cookies do not keep ports apart), which must not hide the
     * real one.
     */
    Optional<UiSessions.Session> session(UiSessions sessions) {
        for (String v : cookieValues()) {
            Optional<UiSessions.Session> s = sessions.find(v);
            if (s.isPresent()) return s;
        }
        return Optional.empty();
    }

    /**
     * Refuses a request that a browser says comes from another page: an {@code Origin} that is not this UI (a
     * {@code null} origin included), or a {@code Sec-Fetch-Site} other than {@code same-origin}. Programs that send
     * neither header (curl, tests) pass; browsers send them on every POST.
     */
    void sameOrigin() {
        if (fetchSite != null && !fetchSite.equals("same-origin")) {
            throw new UiException(403, "cross-site request refused (Sec-Fetch-Site: " + fetchSite + ")");
        }
        if (origin != null && !origin.equals("http://" + host)) {
            throw new UiException(403, "cross-site request refused (Origin " + origin + " is not this UI)");
        }
    }

    /**
     * The session allowed to make this change, or a 401/403 with the reason: a change needs a live session, a request
     * from the UI's own origin (a page elsewhere cannot post here, even with the cookie, which SameSite=Strict already
     * withholds) and the session's CSRF token in {@code X-CSRF-Token}.
     */
    UiSessions.Session writer(UiSessions sessions) {
        sameOrigin();
        UiSessions.Session s = session(sessions).orElseThrow(() -> new UiException(401,
                "changing policy needs a session: run 'septum ui login' on this host and open the link it prints"));
        if (!UiSessions.matches(s.csrf(), csrf)) {
            throw new UiException(403, "missing or wrong X-CSRF-Token: open a new link of 'septum ui login'");
        }
        return s;
    }

    /** The values of this UI's session cookie in the {@code Cookie} header. */
    List<String> cookieValues() {
        if (cookie == null) return List.of();
        List<String> values = new java.util.ArrayList<>();
        for (String part : cookie.split(";")) {
            String p = part.strip();
            if (p.startsWith(COOKIE + "=")) values.add(p.substring(COOKIE.length() + 1));
        }
        return values;
    }
}
