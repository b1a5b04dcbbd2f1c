package io.septum.runtime.readybundle;

import io.septum.api.AgentReady;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;

/**
 * Packed by {@code LauncherRunTest} into a bundle together with its own copy of {@link AgentReady}, so that the
 * marker is registered from another class space than the launcher's, as the endpoint manager does.
 */
public class ReadyActivator implements BundleActivator {
    @Override
    public void start(BundleContext ctx) {
        ctx.registerService(AgentReady.class, new Ready(), null);
    }

    @Override
    public void stop(BundleContext ctx) {
    }

    static final class Ready implements AgentReady {
        @Override
        public long readySince() {
            return System.currentTimeMillis();
        }
    }
}
