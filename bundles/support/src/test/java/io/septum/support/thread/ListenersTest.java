package io.septum.support.thread;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class ListenersTest {
    @Test
    void aFailingListenerIsLoggedAndTheOthersAreStillTold() {
        Logger log = Logger.getLogger("io.septum.support.thread.ListenersTest");
        log.setUseParentHandlers(false);
        List<LogRecord> logged = new ArrayList<>();
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                logged.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(h);
        try {
            List<String> told = new ArrayList<>();
            Listeners<String> listeners = new Listeners<>(log, "a test listener failed");
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
            assertEquals(1, logged.size());
            assertEquals("a test listener failed", logged.get(0).getMessage());
            assertEquals("boom", logged.get(0).getThrown().getMessage());
        } finally {
            log.removeHandler(h);
        }
    }
}
