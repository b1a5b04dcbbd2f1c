package io.septum.proxy.dns.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.HealthReporter;
import io.septum.api.datapath.Datapath;
import io.septum.api.fqdn.FqdnCache;
import io.septum.proxy.common.ProxyInputs;
import io.septum.proxy.common.ProxyRunner;
import io.septum.support.config.AgentDirs;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The DNS proxy in the agent, and the FQDN cache it fills. As for the HTTP proxy, the listener starts on an
 * executor and the datapath learns its port only once it listens; until then, or if it cannot listen, the queries
 * that DNS rules govern are dropped (fail closed) and {@code septum status} says why (component {@code dns-proxy}).
 * The cache loads from the state directory first, so that the addresses learned before a restart keep their
 * {@code toFQDNs} allows from the first regeneration on.
 */
@Component(name = DnsProxyComponent.PID, service = HealthReporter.class, immediate = true,
        configurationPid = DnsProxyComponent.PID)
@Designate(ocd = DnsProxyComponent.Config.class)
public final class DnsProxyComponent implements HealthReporter {
    public static final String PID = "io.septum.dnsproxy";
    private static final Logger LOG = Logger.getLogger(DnsProxyComponent.class.getName());

    @ObjectClassDefinition(name = "Septum DNS proxy", description = "The transparent DNS proxy for DNS rules and toFQDNs")
    public @interface Config {
        @AttributeDefinition(description = "UDP port of the transparent socket in the host network namespace; 0 (the "
                + "default) picks a free one, which the datapath is told")
        int port() default 0;

        @AttributeDefinition(description = "Least time, seconds, an answered address stays in the FQDN cache, "
                + "whatever its TTL (Cilium's tofqdns-min-ttl)")
        long minTtlSeconds() default 3600;

        @AttributeDefinition(description = "Longest time, seconds, an answered address stays in the FQDN cache, "
                + "whatever its TTL says (a server cannot pin an address for years)")
        long maxTtlSeconds() default 86400;

        @AttributeDefinition(description = "Addresses the FQDN cache holds at most; the ones expiring first make room")
        int maxEntries() default 50000;

        @AttributeDefinition(description = "How long an upstream answer is awaited, ms")
        long upstreamTimeoutMillis() default 5000;

        @AttributeDefinition(description = "Queries forwarded and not yet answered, at most")
        int maxPending() default 1024;
    }

    private final FqdnCacheImpl cache;
    private final DnsProxy proxy;
    private final ProxyRunner runner;
    /** The cache as the {@link FqdnCache} service, for the endpoint manager, the REST API and the shell. */
    private final ServiceRegistration<FqdnCache> registration;

    @Activate
    public DnsProxyComponent(BundleContext ctx, Config cfg, @Reference ProxyInputs inputs) {
        cache = new FqdnCacheImpl(AgentDirs.stateDir(ctx::getProperty).resolve("fqdn").resolve("cache"),
                System::currentTimeMillis, cfg.minTtlSeconds(), cfg.maxTtlSeconds(), cfg.maxEntries());
        proxy = new DnsProxy(new DnsProxy.Settings(cfg.port(), Datapath.PROXY_UPSTREAM_MARK,
                Math.max(100, cfg.upstreamTimeoutMillis()), Math.max(1, cfg.maxPending())),
                new DnsPolicyJudge(inputs::endpoints, inputs::identities, inputs::policies), cache,
                inputs::publish);
        runner = new ProxyRunner("DNS proxy", "septum-dns-proxy", LOG, proxy::start, Datapath::setDnsProxyPort,
                inputs);
        runner.executor().scheduleWithFixedDelay(cache::expire, 10, 10, TimeUnit.SECONDS);
        // the file follows the entries within 2 s, off the proxy's event loop
        runner.executor().scheduleWithFixedDelay(cache::flush, 2, 2, TimeUnit.SECONDS);
        registration = ctx.registerService(FqdnCache.class, cache, null);
    }

    @Override
    public ComponentStatus health() {
        String stuck = proxy.stuck();
        if (stuck != null) return ComponentStatus.failed("dns-proxy", stuck + ": queries that DNS rules govern go unanswered");
        return runner.health("dns-proxy", "queries that DNS rules govern are dropped", "listening on UDP ",
                port -> "UDP " + port + " (transparent); " + proxy.queries.sum() + " queries, " + proxy.refused.sum()
                        + " refused, " + proxy.malformed.sum() + " malformed, " + proxy.timeouts.sum()
                        + " upstream timeouts, " + cache.entries().size() + " cached addresses");
    }

    @Deactivate
    void deactivate() {
        try {
            registration.unregister();
        } catch (IllegalStateException e) {
            // the framework took it already
        }
        runner.close();
        proxy.close();
        cache.flush();
    }
}
