package io.septum.api.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FlowTimeTest {
    private static String reference(long nanos) {
        return DateTimeFormatter.ISO_INSTANT.format(Instant.ofEpochSecond(0, nanos));
    }

    @ParameterizedTest
    @ValueSource(longs = {0L, 1L, -1L, 999_999_999L, 1_000_000_000L, 1_000_000L, 1_000L, 120_000_000L, 1_500L,
            951_782_400_000_000_000L /* 2000-02-29 */, 951_868_800_000_000_000L /* 2000-03-01 */,
            4_107_542_400_000_000_000L /* 2100-03-01 */, 1_796_630_003_999_999_999L, Long.MAX_VALUE, Long.MIN_VALUE,
            -86_400_000_000_001L /* 1969-12-30T23:59:59.999999999 */, 253_402_300_799_999_999L})
    void formatsAsIsoInstantDoes(long nanos) {
        assertEquals(reference(nanos), FlowTime.format(nanos));
    }

    @Test
    void agreesWithIsoInstantAcrossTheRange() {
        SplittableRandom random = new SplittableRandom(20261207L);
        for (int i = 0; i < 200_000; i++) {
            long drawn = random.nextLong();
            // every third value lands on a whole millisecond or microsecond, to cover the short fractions
            long nanos = i % 3 == 1 ? drawn - Math.floorMod(drawn, 1_000_000L)
                    : i % 3 == 2 ? drawn - Math.floorMod(drawn, 1_000L) : drawn;
            assertEquals(reference(nanos), FlowTime.format(nanos), () -> "at " + nanos + " ns");
        }
    }

    @Test
    void stampsAFlowBuiltWithoutItsTime() {
        Flow f = new Flow(null, 1_796_630_003_120_000_000L, Flow.FORWARDED, 0, null, null, null, null, null, "L3_L4",
                "trace", "INGRESS", "TO_ENDPOINT", "none", 0, 0, null, null, false, null);
        assertEquals("2026-12-07T07:53:23.120Z", f.time());
    }
}
