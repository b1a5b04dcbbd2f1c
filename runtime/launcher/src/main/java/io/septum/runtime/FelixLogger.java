package io.septum.runtime;

import java.util.logging.Level;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;

/** Sends the framework's own messages (resolution failures, bundle errors) to java.util.logging instead of stdout. */
final class FelixLogger extends org.apache.felix.framework.Logger {
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger("org.apache.felix.framework");

    @Override
    protected void doLog(Bundle bundle, ServiceReference sr, int level, String msg, Throwable throwable) {
        Level l = switch (level) {
            case LOG_ERROR -> Level.SEVERE;
            case LOG_WARNING -> Level.WARNING;
            case LOG_INFO -> Level.INFO;
            default -> Level.FINE;
        };
        if (!LOG.isLoggable(l)) return;
        String where = bundle == null ? "" : "[" + bundle.getSymbolicName() + "] ";
        LOG.log(l, where + msg, throwable);
    }
}
