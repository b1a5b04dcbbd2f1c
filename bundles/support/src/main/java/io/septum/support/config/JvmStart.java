package io.septum.support.config;

import java.lang.management.ManagementFactory;
import java.util.function.Function;

/**
 * When the agent's JVM started, as the launcher measured it (framework property {@value #PROPERTY}), so that the
 * figures the bundles give (start to ready) agree with the launcher's log. Components call it with
 * {@code BundleContext::getProperty}, so that this jar needs no OSGi.
 */
public final class JvmStart {
    /** The launcher's measure of JVM start, epoch milliseconds. */
    public static final String PROPERTY = "septum.jvm.start.millis";

    private JvmStart() {
    }

    /** The launcher's figure when it gives a number, else the JVM's own. */
    public static long millis(Function<String, String> properties) {
        String p = properties.apply(PROPERTY);
        if (p != null) {
            try {
                return Long.parseLong(p.trim());
            } catch (NumberFormatException ignored) {
                // fall back to the JVM's own figure
            }
        }
        return ManagementFactory.getRuntimeMXBean().getStartTime();
    }
}
