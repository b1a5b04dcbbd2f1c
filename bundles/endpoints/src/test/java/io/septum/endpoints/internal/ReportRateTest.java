package io.septum.endpoints.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ReportRateTest {
    final AtomicLong now = new AtomicLong(1_000);
    final ReportRate rate = new ReportRate(now::get, Duration.ofSeconds(10), 100, 10);

    private void report(int times, int endpoints) {
        for (int i = 0; i < times; i++) rate.record("e" + i % endpoints);
    }

    private static String flood(int reports, int endpoints) {
        return "floods the endpoint manager: " + reports + " reports for " + endpoints + " endpoint(s) within 10 s"
                + " (they are coalesced; other sources are not held up)";
    }

    private void advance(long seconds) {
        now.addAndGet(Duration.ofSeconds(seconds).toNanos());
    }

    @Test
    void aFloodIsNamedInItsWindowAndTheNextThenForgotten() {
        report(99, 1);
        assertNull(rate.flooding(), "under the least count");
        report(1, 1);
        assertEquals(flood(100, 1), rate.flooding());
        advance(10);
        assertEquals(flood(100, 1), rate.flooding(), "the window after still shows it");
        advance(10);
        assertNull(rate.flooding(), "two quiet windows later it is gone");
    }

    @Test
    void aLongSilenceForgetsTheFloodAtOnce() {
        report(500, 2);
        advance(25);
        assertNull(rate.flooding());
    }

    @Test
    void manyEndpointsOnceEachIsNoFlood() {
        report(5_000, 1_000);
        assertNull(rate.flooding(), "5 reports per endpoint: under 10");
        report(5_000, 1_000);
        assertEquals(flood(10_000, 1_000), rate.flooding());
    }
}
