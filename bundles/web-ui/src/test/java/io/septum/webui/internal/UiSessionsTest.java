package io.septum.webui.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Links and sessions end by use, by time and by number; secrets are long and never repeat. */
class UiSessionsTest {
    /** A clock the test moves. */
    private static final class Hands extends Clock {
        Instant now = Instant.parse("2026-12-06T10:00:00Z");

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void aLinkExpiresUnusedAndASessionEndsWhenIdle() {
        Hands clock = new Hands();
        UiSessions s = new UiSessions(clock);
        var link = s.issue("uid 0 (root)");
        assertEquals(clock.now.plus(UiSessions.LINK_TTL), link.getValue());
        clock.now = clock.now.plus(UiSessions.LINK_TTL);
        assertTrue(s.redeem(link.getKey()).isEmpty(), "expired at its time");

        UiSessions.Session session = s.redeem(s.issue("uid 1000 (ops)").getKey()).orElseThrow();
        assertEquals("web UI (uid 1000 (ops))", session.changeAuthor());
        clock.now = clock.now.plus(UiSessions.IDLE.minus(Duration.ofSeconds(1)));
        assertTrue(s.find(session.id()).isPresent(), "used before it went idle: still there, and the use counts");
        clock.now = clock.now.plus(UiSessions.IDLE.minus(Duration.ofSeconds(1)));
        assertTrue(s.find(session.id()).isPresent());
        clock.now = clock.now.plus(UiSessions.IDLE);
        assertTrue(s.find(session.id()).isEmpty(), "idle for too long");
        assertTrue(s.find(null).isEmpty());
        assertTrue(s.redeem(null).isEmpty());
    }

    @Test
    void theOldestGoWhenTheBoundsAreReachedAndSecretsDiffer() {
        UiSessions s = new UiSessions(new Hands());
        String first = s.issue("a").getKey();
        Set<String> secrets = new HashSet<>();
        String newest = null;
        for (int i = 0; i < 40; i++) {
            newest = s.issue("a").getKey();
            secrets.add(newest);
        }
        assertEquals(40, secrets.size());
        assertTrue(s.redeem(first).isEmpty(), "the oldest link made room");
        UiSessions.Session a = s.redeem(newest).orElseThrow();
        assertNotEquals(a.id(), a.csrf());
        assertTrue(a.id().length() >= 43, a.id());
        assertTrue(UiSessions.matches(a.csrf(), a.csrf()));
        assertFalse(UiSessions.matches(a.csrf(), a.csrf() + "x"));
        assertFalse(UiSessions.matches(a.csrf(), null));
    }

    @Test
    void aBoundDropsTheLeastRecentlyUsedSessionAndEverySessionEndsAfterItsMaximumAge() {
        Hands clock = new Hands();
        UiSessions s = new UiSessions(clock);
        UiSessions.Session first = s.redeem(s.issue("a").getKey()).orElseThrow();
        UiSessions.Session second = s.redeem(s.issue("b").getKey()).orElseThrow();
        for (int i = 0; i < 62; i++) s.redeem(s.issue("c").getKey()).orElseThrow();
        assertTrue(s.find(first.id()).isPresent(), "the oldest, used just now");
        s.redeem(s.issue("d").getKey()).orElseThrow();
        assertTrue(s.find(first.id()).isPresent(), "in use: kept");
        assertTrue(s.find(second.id()).isEmpty(), "the least recently used went");

        for (int i = 0; i < 5; i++) {
            clock.now = clock.now.plus(UiSessions.IDLE.minus(Duration.ofMinutes(1)));
            s.find(first.id());
        }
        assertTrue(s.find(first.id()).isEmpty(), "used all along, but older than " + UiSessions.MAX_AGE);
    }
}
