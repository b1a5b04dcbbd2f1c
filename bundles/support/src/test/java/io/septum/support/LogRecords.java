package io.septum.support;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** A logger of a test's own, that logs nowhere but into {@link #records}: what a helper logged, to assert on. */
public final class LogRecords extends Handler {
    public final Logger log = Logger.getAnonymousLogger();
    public final List<LogRecord> records = new CopyOnWriteArrayList<>();

    public LogRecords() {
        log.setUseParentHandlers(false);
        log.addHandler(this);
    }

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
}
