package io.septum.proxy.dns.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.EndpointIndex;
import io.septum.api.HealthReporter;
import io.septum.api.IdentityAllocator;
import io.septum.api.datapath.Datapath;
import io.septum.api.fqdn.FqdnCache;
import io.septum.api.fqdn.FqdnEntry;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowSink;
import io.septum.api.policy.PolicyRepository;
import io.septum.support.config.AgentDirs;
import io.septum.support.thread.DaemonThreads;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
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
@Component(name = DnsProxyComponent.PID, service = {FqdnCache.class, HealthReporter.class}, immediate = true,
        configurationPid = DnsProxyComponent.PID)
@Designate(ocd = DnsProxyComponent.Config.class)
public final class DnsProxyComponent implements FqdnCache, HealthReporter {
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

        @AttributeDefinition(description = "Addresses the FQDN cache holds at most; the ones expiring first make room")
        int maxEntries() default 50000;

        @AttributeDefinition(description = "How long an upstream answer is awaited, ms")
        long upstreamTimeoutMillis() default 5000;

        @AttributeDefinition(description = "Queries forwarded and not yet answered, at most")
        int maxPending() default 1024;
    }

    private final ScheduledExecutorService executor =
            Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("septum-dns-proxy-start"));
    private final List<FlowSink> sinks = new CopyOnWriteArrayList<>();
    private final FqdnCacheImpl cache;
    private final DnsProxy proxy;
    private volatile String failure = "starting";
    private volatile String datapathFailure;
    private volatile InetSocketAddress bound;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile EndpointIndex endpointIndex;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile IdentityAllocator identityAllocator;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicyRepository policyRepository;

    private volatile Datapath datapath;

    @Activate
    public DnsProxyComponent(BundleContext ctx, Config cfg) {
        cache = new FqdnCacheImpl(AgentDirs.stateDir(ctx::getProperty).resolve("fqdn").resolve("cache"),
                System::currentTimeMillis, cfg.minTtlSeconds(), cfg.maxEntries());
        proxy = new DnsProxy(new DnsProxy.Settings(cfg.port(), Datapath.PROXY_UPSTREAM_MARK,
                Math.max(100, cfg.upstreamTimeoutMillis()), Math.max(1, cfg.maxPending())),
                new DnsPolicyJudge(() -> endpointIndex, () -> identityAllocator, () -> policyRepository), cache,
                this::publish);
        executor.execute(this::start);
        executor.scheduleWithFixedDelay(cache::expire, 10, 10, TimeUnit.SECONDS);
    }

    private void start() {
        try {
            bound = proxy.start();
            failure = null;
            LOG.info(() -> "DNS proxy listening on UDP port " + bound.getPort() + " (transparent)");
            tellDatapath();
        } catch (Exception | LinkageError e) {
            failure = e.getMessage();
            LOG.log(Level.SEVERE, "the DNS proxy cannot start; queries that DNS rules govern are dropped: "
                    + e.getMessage(), e);
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindDatapath(Datapath dp) {
        datapath = dp;
        if (!executor.isShutdown()) executor.execute(this::tellDatapath);
    }

    void unbindDatapath(Datapath dp) {
        if (datapath == dp) datapath = null;
    }

    /** On the executor: setDnsProxyPort may wait for the datapath to load. */
    private void tellDatapath() {
        Datapath dp = datapath;
        InetSocketAddress b = bound;
        if (dp == null || b == null) return;
        try {
            dp.setDnsProxyPort(b.getPort());
            datapathFailure = null;
        } catch (Exception e) {
            datapathFailure = e.getMessage();
            LOG.log(Level.WARNING, "cannot tell the datapath the DNS proxy port: " + e.getMessage(), e);
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addSink(FlowSink s) {
        sinks.add(s);
    }

    void removeSink(FlowSink s) {
        sinks.remove(s);
    }

    private void publish(Flow f) {
        for (FlowSink s : sinks) {
            try {
                s.accept(f);
            } catch (RuntimeException e) {
                LOG.log(Level.FINE, "flow sink failed", e);
            }
        }
    }

    @Override
    public List<FqdnEntry> entries() {
        return cache.entries();
    }

    @Override
    public int clean(String name) {
        return cache.clean(name);
    }

    @Override
    public long revision() {
        return cache.revision();
    }

    @Override
    public void addListener(Runnable listener) {
        cache.addListener(listener);
    }

    @Override
    public void removeListener(Runnable listener) {
        cache.removeListener(listener);
    }

    @Override
    public ComponentStatus health() {
        String f = failure;
        String d = datapathFailure;
        String figures = proxy.queries.sum() + " queries, " + proxy.refused.sum() + " refused, "
                + proxy.malformed.sum() + " malformed, " + proxy.timeouts.sum() + " upstream timeouts, "
                + cache.entries().size() + " cached addresses";
        if ("starting".equals(f)) return new ComponentStatus("dns-proxy", "degraded", "starting; queries that DNS"
                + " rules govern are dropped meanwhile");
        if (f != null) return ComponentStatus.failed("dns-proxy", "cannot listen: " + f + "; queries that DNS rules"
                + " govern are dropped (fail closed)");
        if (d != null) return ComponentStatus.failed("dns-proxy", "listening on UDP " + bound.getPort()
                + " but the datapath does not redirect to it: " + d + "; queries that DNS rules govern are dropped");
        return ComponentStatus.ok("dns-proxy", "UDP " + bound.getPort() + " (transparent); " + figures);
    }

    @Deactivate
    void deactivate() {
        executor.shutdownNow();
        Datapath dp = datapath;
        if (dp != null && bound != null) {
            // as the HTTP proxy: off the deactivating thread, which may hold what the datapath waits for
            DaemonThreads.start("septum-dns-proxy-stop", () -> {
                try {
                    dp.setDnsProxyPort(0);
                } catch (Exception e) {
                    LOG.log(Level.FINE, "cannot clear the DNS proxy port", e);
                }
            });
        }
        proxy.close();
    }
}
