package io.septum.services.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.EndpointIndex;
import io.septum.api.EndpointSnapshot;
import io.septum.api.HealthReporter;
import io.septum.api.datapath.Datapath;
import io.septum.api.service.Service;
import io.septum.api.service.ServiceListener;
import io.septum.api.service.ServiceManager;
import io.septum.api.service.ServiceSpec;
import io.septum.api.service.ServiceValidationException;
import io.septum.support.config.AgentDirs;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The DS face of the {@link ServiceRegistry}. Framework properties read: {@code septum.state.dir},
 * {@code septum.etc.dir} (or {@code septum.home}/etc) for {@code services.yaml}, and {@code septum.netns.etc.dir}
 * (default {@code /etc/netns}) for hosts files.
 */
@Component(service = {ServiceManager.class, HealthReporter.class}, immediate = true, configurationPid = ServicesComponent.PID)
@Designate(ocd = ServicesComponent.Config.class)
public final class ServicesComponent implements ServiceManager, HealthReporter {
    static final String PID = "io.septum.services";

    @ObjectClassDefinition(name = "Septum services")
    @interface Config {
        @AttributeDefinition(description = "Milliseconds between re-resolutions of backend endpoints (and checks of etc/services.yaml)")
        long resolveIntervalMillis() default 1000;

        @AttributeDefinition(description = "Seconds an ip/nsenter command may run before it is killed")
        int commandTimeoutSeconds() default 5;
    }

    private final ServiceRegistry registry;

    @Activate
    public ServicesComponent(BundleContext ctx, Config config, @Reference Datapath datapath,
                             @Reference EndpointIndex endpoints) {
        if (config.resolveIntervalMillis() < 100) {
            throw new IllegalArgumentException("config " + PID + ": resolveIntervalMillis must be at least 100, got "
                    + config.resolveIntervalMillis());
        }
        Duration timeout = Duration.ofSeconds(Math.max(1, config.commandTimeoutSeconds()));
        ServiceRegistry.Settings s = new ServiceRegistry.Settings(
                AgentDirs.stateDir(ctx::getProperty), AgentDirs.etcDir(ctx::getProperty).resolve("services.yaml"),
                AgentDirs.dir(ctx::getProperty, "septum.netns.etc.dir", "/etc/netns"),
                Duration.ofMillis(config.resolveIntervalMillis()), timeout);
        registry = new ServiceRegistry(s, datapath, endpoints, new MacResolver(timeout));
        registry.start(); // the first resolution runs on the registry's thread: activation never waits for the datapath
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addListener(ServiceListener l) {
        registry.addListener(l);
    }

    /** Also when this component goes: the listener is told there are no services, not left with the last ones. */
    void removeListener(ServiceListener l) {
        registry.removeListener(l);
        try {
            l.servicesChanged(List.of(), EndpointSnapshot.EMPTY);
        } catch (RuntimeException e) {
            java.util.logging.Logger.getLogger(ServicesComponent.class.getName())
                    .log(java.util.logging.Level.WARNING, "services: listener " + l + " failed", e);
        }
    }

    @Deactivate
    void deactivate() {
        registry.close();
    }

    @Override
    public Service upsert(ServiceSpec spec) throws ServiceValidationException {
        return registry.upsert(spec);
    }

    @Override
    public boolean delete(String idOrName) {
        return registry.delete(idOrName);
    }

    @Override
    public List<Service> list() {
        return registry.list();
    }

    @Override
    public Optional<Service> get(String idOrName) {
        return registry.get(idOrName);
    }

    @Override
    public ComponentStatus health() {
        return registry.health();
    }
}
