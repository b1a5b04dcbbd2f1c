package io.septum.endpoints.internal;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * How often one source reports, counted in fixed windows, to name a source that floods the endpoint manager
 * (a faulty bundle, an engine replaying its events). A flood is many reports for few endpoints: at least
 * {@code minReports} in a window, and at least {@code perEndpoint} for each endpoint they name. A source listing
 * thousands of endpoints at start (one report each) is no flood. The verdict holds for the window under way and
 * the one before it, so that status shows it while the flood lasts and for one window after.
 */
final class ReportRate {
    static final Duration WINDOW = Duration.ofSeconds(10);
    static final int MIN_REPORTS = 1_000;
    static final int PER_ENDPOINT = 10;

    private final LongSupplier nanoTime;
    private final long windowNanos;
    private final int minReports;
    private final int perEndpoint;
    private long windowStart;
    private long count;
    private final Set<String> named = new HashSet<>();
    /** The verdict on the window before the one under way, or null. */
    private String previous;

    ReportRate() {
        this(System::nanoTime, WINDOW, MIN_REPORTS, PER_ENDPOINT);
    }

    ReportRate(LongSupplier nanoTime, Duration window, int minReports, int perEndpoint) {
        this.nanoTime = nanoTime;
        this.windowNanos = window.toNanos();
        this.minReports = minReports;
        this.perEndpoint = perEndpoint;
        this.windowStart = nanoTime.getAsLong();
    }

    /** One report naming this endpoint (its source id). */
    synchronized void record(String sourceId) {
        roll();
        count++;
        named.add(sourceId);
    }

    /** Why the source counts as flooding, or null. */
    synchronized String flooding() {
        roll();
        String now = verdict();
        return now != null ? now : previous;
    }

    private void roll() {
        long elapsed = nanoTime.getAsLong() - windowStart;
        if (elapsed < windowNanos) return;
        // a window with no reports at all after the last one leaves nothing to show
        previous = elapsed < 2 * windowNanos ? verdict() : null;
        windowStart += elapsed - elapsed % windowNanos;
        count = 0;
        named.clear();
    }

    private String verdict() {
        if (count < minReports || count < (long) perEndpoint * named.size()) return null;
        return "floods the endpoint manager: " + count + " reports for " + named.size() + " endpoint(s) within "
                + Duration.ofNanos(windowNanos).toSeconds() + " s (they are coalesced; other sources are not held up)";
    }
}
