package io.septum.endpoints.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class StartGateTest {
    static final long START = 1_000_000;
    static final Duration TIMEOUT = Duration.ofSeconds(5);
    final List<Long> wakeUps = new ArrayList<>();
    final StartGate gate = new StartGate(START, wakeUps::add);

    @Test
    void standaloneIsOpenFromTheFirstPass() {
        assertTrue(gate.passes(START, null, TIMEOUT, false));
        assertTrue(gate.isOpen());
        assertNull(gate.timedOut());
        assertEquals(List.of(), wakeUps);
    }

    @Test
    void clusterModeWaitsForTheFirstCompleteListingAndAsksForAPassAtItsDeadline() {
        assertFalse(gate.passes(START + 10, "c1", TIMEOUT, false));
        assertFalse(gate.isOpen());
        assertEquals(List.of(START + 5_000), wakeUps);
        assertTrue(gate.passes(START + 20, "c1", TIMEOUT, true));
        assertNull(gate.timedOut(), "opened by the listing, not by the timeout");
        assertTrue(gate.passes(START + 30, "c1", TIMEOUT, false), "once open it stays open");
        assertEquals(1, wakeUps.size());
    }

    @Test
    void clusterModeGoesOnFromLocalStateAfterTheTimeoutAndSaysSo() {
        assertFalse(gate.passes(START + 4_999, "c1", TIMEOUT, false));
        assertTrue(gate.passes(START + 5_000, "c1", TIMEOUT, false));
        assertTrue(gate.isOpen());
        assertTrue(gate.timedOut().contains("not in after 5 s"), gate.timedOut());
    }
}
