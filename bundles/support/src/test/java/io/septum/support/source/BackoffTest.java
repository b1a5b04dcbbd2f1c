package io.septum.support.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
    @Test
    void doublesUpToTheMaximumAndStartsOverAfterReset() {
        Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(5));
        assertEquals(Duration.ofSeconds(1), b.next());
        assertEquals(Duration.ofSeconds(2), b.next());
        assertEquals(Duration.ofSeconds(4), b.next());
        assertEquals(Duration.ofSeconds(5), b.next());
        assertEquals(Duration.ofSeconds(5), b.next());
        b.reset();
        assertEquals(Duration.ofSeconds(1), b.next());
        assertEquals(Duration.ofSeconds(2), b.next());
    }

    @Test
    void aMaximumEqualToTheFirstWaitNeverGrows() {
        Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(1));
        assertEquals(Duration.ofSeconds(1), b.next());
        assertEquals(Duration.ofSeconds(1), b.next());
    }

    @Test
    void refusesNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ZERO, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
    }
}
