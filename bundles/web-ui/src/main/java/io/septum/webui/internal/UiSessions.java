package io.septum.webui.internal;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Who may change policy from the UI. {@code septum ui login} asks the REST API, which checks the caller's unix
 * credentials, for a one-time link token; the page that opens the link trades the token for a session: an HttpOnly,
 * SameSite=Strict cookie, and a CSRF token that only that answer carries (the page keeps it in its origin's storage).
 * Every write must send both. The cookie alone is not enough: browsers send cookies to every port of 127.0.0.1, so
 * another local server could receive it, but the CSRF token never travels unasked. Tokens and sessions live in memory
 * only: a restarted agent, or a changed UI configuration, forgets them. Both are bounded in number and time.
 */
final class UiSessions {
    /** How long a login link works if nobody opens it. */
    static final Duration LINK_TTL = Duration.ofMinutes(5);
    /** A session unused for this long ends. */
    static final Duration IDLE = Duration.ofHours(8);
    /** A session ends this long after it began, used or not. */
    static final Duration MAX_AGE = Duration.ofHours(24);
    private static final int MAX_LINKS = 32;
    private static final int MAX_SESSIONS = 64;

    /**
     * One signed-in browser.
     *
     * @param id     the cookie's value
     * @param csrf   what each write sends in {@code X-CSRF-Token}
     * @param author whom the REST API authorised, as the policy history names it
     */
    record Session(String id, String csrf, String author) {
        /** The author of this session's changes in the policy history. */
        String changeAuthor() {
            return "web UI (" + author + ")";
        }
    }

    private record Link(String author, Instant expires) {
    }

    private record Entry(Session session, Instant created, Instant lastUsed) {
    }

    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    // insertion-ordered: the oldest goes first when a bound is reached
    private final Map<String, Link> links = new LinkedHashMap<>();
    private final Map<String, Entry> sessions = new LinkedHashMap<>();

    UiSessions(Clock clock) {
        this.clock = clock;
    }

    /** A new one-time link token for {@code author}, and when it expires. */
    synchronized Map.Entry<String, Instant> issue(String author) {
        if (author == null || author.isBlank()) throw new IllegalArgumentException("a login needs an author");
        expire();
        while (links.size() >= MAX_LINKS) drop(links);
        String token = secret();
        Instant expires = clock.instant().plus(LINK_TTL);
        links.put(token, new Link(author, expires));
        return Map.entry(token, expires);
    }

    /** The session a link token opens, once; empty for a used, expired or unknown token. */
    synchronized Optional<Session> redeem(String token) {
        expire();
        Link link = token == null ? null : links.remove(token);
        if (link == null) return Optional.empty();
        while (sessions.size() >= MAX_SESSIONS) drop(sessions);
        Session s = new Session(secret(), secret(), link.author());
        sessions.put(s.id(), new Entry(s, clock.instant(), clock.instant()));
        return Optional.of(s);
    }

    /** The live session with this cookie value, which counts as a use; empty otherwise. */
    synchronized Optional<Session> find(String id) {
        expire();
        Entry e = id == null ? null : sessions.remove(id);
        if (e == null) return Optional.empty();
        // re-inserted: the map's order is the order of use, so a bound drops the least recently used
        sessions.put(id, new Entry(e.session(), e.created(), clock.instant()));
        return Optional.of(e.session());
    }

    /** Ends the session (sign out); unknown ids are ignored. */
    synchronized void end(String id) {
        if (id != null) sessions.remove(id);
    }

    /** Whether {@code given} is {@code expected}, in time that does not depend on where they differ. */
    static boolean matches(String expected, String given) {
        if (expected == null || given == null) return false;
        return MessageDigest.isEqual(expected.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                given.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private void expire() {
        Instant now = clock.instant();
        links.values().removeIf(l -> !now.isBefore(l.expires()));
        sessions.values().removeIf(e -> !now.isBefore(e.lastUsed().plus(IDLE)) || !now.isBefore(e.created().plus(MAX_AGE)));
    }

    private static void drop(Map<String, ?> oldestFirst) {
        Iterator<String> it = oldestFirst.keySet().iterator();
        it.next();
        it.remove();
    }

    /** 256 random bits, URL-safe. */
    private String secret() {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
