package io.septum.support.source;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A source's calls into the sink the endpoint manager gave it. They run on the source's own thread, so a sink that
 * throws (a report refused, the manager failing) must not end that thread's loop: the failure is logged in the
 * source's words and the source goes on; its next report and resync put the manager right.
 */
public final class SinkCalls {
    private SinkCalls() {
    }

    /** Runs {@code call}; a {@link RuntimeException} from it is logged as a warning with {@code failure}, not thrown. */
    public static void guarded(Logger log, String failure, Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            log.log(Level.WARNING, failure, e);
        }
    }
}
