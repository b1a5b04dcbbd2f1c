package io.septum.endpoints.internal;

import java.util.concurrent.ThreadFactory;

/**
 * Threads for the endpoint manager's executors: daemons, so that a stopping agent never waits on them, named for
 * what they do, so that a thread dump says it.
 */
final class DaemonThreads {
    private DaemonThreads() {
    }

    static ThreadFactory named(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
