package io.septum.support.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.septum.support.LogRecords;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

class SinkCallsTest {
    @Test
    void aThrowingCallIsLoggedInTheSourcesWordsAndGoesNoFurther() {
        LogRecords logged = new LogRecords();
        List<LogRecord> records = logged.records;
        IllegalStateException refused = new IllegalStateException("refused");
        List<String> ran = new CopyOnWriteArrayList<>();

        SinkCalls.guarded(logged.log, "source x: the endpoint sink failed", () -> ran.add("upsert"));
        SinkCalls.guarded(logged.log, "source x: the endpoint sink failed", () -> {
            throw refused;
        });

        assertEquals(List.of("upsert"), ran);
        assertEquals(1, records.size());
        assertEquals(Level.WARNING, records.get(0).getLevel());
        assertEquals("source x: the endpoint sink failed", records.get(0).getMessage());
        assertSame(refused, records.get(0).getThrown());
    }
}
