package io.septum.support.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.septum.support.LogRecords;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;

class ListenersTest {
    @Test
    void aFailingListenerIsLoggedAndTheOthersAreStillTold() {
        LogRecords logged = new LogRecords();
        List<String> told = new ArrayList<>();
        Listeners<String> listeners = new Listeners<>(logged.log, "a test listener failed");
        listeners.add("a");
        listeners.add("fails");
        listeners.add("b");
        listeners.add("gone");
        listeners.remove("gone");
        listeners.tell(l -> {
            if (l.equals("fails")) throw new IllegalStateException("boom");
            told.add(l);
        });
        assertEquals(List.of("a", "b"), told, "in the order added, the removed one not at all");
        assertEquals(1, logged.records.size());
        assertEquals(Level.WARNING, logged.records.get(0).getLevel());
        assertEquals("a test listener failed", logged.records.get(0).getMessage());
        assertEquals("boom", logged.records.get(0).getThrown().getMessage());
    }
}
