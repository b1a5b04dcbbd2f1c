package io.septum.runtime;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.format.DateTimeFormatter;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * One line per record, {@code <UTC time> <LEVEL> <logger> <message>}, then the stack trace if any: easy to grep,
 * and journald keeps it as one entry per line. Named in {@code etc/logging.properties}.
 */
public final class LogFormatter extends Formatter {
    @Override
    public String format(LogRecord r) {
        StringBuilder b = new StringBuilder(128);
        DateTimeFormatter.ISO_INSTANT.formatTo(r.getInstant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS), b);
        b.append(' ').append(String.format("%-7s", r.getLevel().getName())).append(' ')
                .append(r.getLoggerName() == null ? "-" : r.getLoggerName()).append(' ')
                .append(formatMessage(r).replace('\n', ' ')).append(System.lineSeparator());
        if (r.getThrown() != null) {
            StringWriter w = new StringWriter();
            r.getThrown().printStackTrace(new PrintWriter(w));
            b.append(w);
        }
        return b.toString();
    }
}
