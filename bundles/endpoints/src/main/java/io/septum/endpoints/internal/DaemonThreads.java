package io.septum.endpoints.internal;

import java.util.concurrent.ThreadFactory;

/** The endpoint manager's threads are daemons with a name that says what they do, so a stopping agent never waits on them. */
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
