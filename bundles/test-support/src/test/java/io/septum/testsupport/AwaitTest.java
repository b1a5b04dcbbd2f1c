package io.septum.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AwaitTest {
    @Test
    void returnsOnceTheConditionHolds() throws Exception {
        AtomicInteger asked = new AtomicInteger();
        Await.until("the third question", Duration.ofSeconds(10), () -> asked.incrementAndGet() == 3);
        assertEquals(3, asked.get());
        assertTrue(Await.within(Duration.ofSeconds(10), () -> true));
    }

    @Test
    void failsNamingWhatItWaitedForWhenTheTimeIsUp() throws Exception {
        assertFalse(Await.within(Duration.ofMillis(50), () -> false));
        AssertionError e = assertThrows(AssertionError.class,
                () -> Await.until("the impossible", Duration.ofMillis(50), () -> false));
        assertEquals("timed out after 50 ms waiting for: the impossible", e.getMessage());
    }
}
