package io.septum.support.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class SinkCallsTest {
    @Test
    void aThrowingCallIsLoggedInTheSourcesWordsAndGoesNoFurther() {
        Logger log = Logger.getAnonymousLogger();
        log.setUseParentHandlers(false);
        List<LogRecord> records = new CopyOnWriteArrayList<>();
        log.addHandler(new Handler() {
            @Override
            public void publish(LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
        IllegalStateException refused = new IllegalStateException("refused");
        List<String> ran = new CopyOnWriteArrayList<>();

        SinkCalls.guarded(log, "source x: the endpoint sink failed", () -> ran.add("upsert"));
        SinkCalls.guarded(log, "source x: the endpoint sink failed", () -> {
            throw refused;
        });

        assertEquals(List.of("upsert"), ran);
        assertEquals(1, records.size());
        assertEquals(Level.WARNING, records.get(0).getLevel());
        assertEquals("source x: the endpoint sink failed", records.get(0).getMessage());
        assertSame(refused, records.get(0).getThrown());
    }
}
