package io.septum.proxy.http.internal;

import io.septum.api.ComponentStatus;
import io.septum.api.HealthReporter;
import io.septum.api.datapath.Datapath;
import io.septum.proxy.common.ProxyInputs;
import io.septum.proxy.common.ProxyRunner;
import java.util.logging.Logger;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The proxy in the agent. The listener starts on an executor (never in activate); once it listens, the datapath is
 * told its port, and only then are redirected connections delivered to it. Until then, and whenever it cannot
 * listen, the datapath's proxy port is 0 and redirected connections are dropped: L7 ports fail closed. The reason
 * is in {@code septum status} (component {@code proxy}).
 */
@Component(name = ProxyComponent.PID, service = HealthReporter.class, immediate = true, configurationPid = ProxyComponent.PID)
@Designate(ocd = ProxyComponent.Config.class)
public final class ProxyComponent implements HealthReporter {
    public static final String PID = "io.septum.proxy";
    private static final Logger LOG = Logger.getLogger(ProxyComponent.class.getName());

    @ObjectClassDefinition(name = "Septum L7 HTTP proxy", description = "The transparent proxy for L7-governed ports")
    public @interface Config {
        @AttributeDefinition(description = "TCP port of the transparent listener in the host network namespace; 0 (the "
                + "default) picks a free one, which the datapath is told: redirected connections never name it")
        int port() default 0;

        @AttributeDefinition(description = "Client connections open at once; more are closed at accept")
        int maxConnections() default 1024;

        @AttributeDefinition(description = "Request line plus headers, bytes; more gets 431")
        int maxHeaderBytes() default 16384;

        @AttributeDefinition(description = "Request body, bytes; more gets 413")
        long maxBodyBytes() default 1048576;

        @AttributeDefinition(description = "From a request's first byte to its last header, ms (slowloris)")
        long headerTimeoutMillis() default 10000;

        @AttributeDefinition(description = "A connection idle both ways is closed after this many ms")
        long idleTimeoutMillis() default 60000;

        @AttributeDefinition(description = "Connect timeout to the original destination, ms; exceeded gets 503")
        long connectTimeoutMillis() default 5000;
    }

    private final HttpProxy proxy;
    private final ProxySettings settings;
    private final ProxyRunner runner;

    @Activate
    public ProxyComponent(Config cfg, @Reference ProxyInputs inputs) {
        settings = new ProxySettings(cfg.port(), Math.max(1, cfg.maxConnections()), Math.max(1024, cfg.maxHeaderBytes()),
                Math.max(0, cfg.maxBodyBytes()), Math.max(100, cfg.headerTimeoutMillis()), Math.max(100, cfg.idleTimeoutMillis()),
                Math.max(100, cfg.connectTimeoutMillis()), Datapath.PROXY_UPSTREAM_MARK, true);
        proxy = new HttpProxy(settings, new PolicyJudge(inputs::endpoints, inputs::identities, inputs::policies),
                inputs::publish, a -> a);
        runner = new ProxyRunner("L7 proxy", "septum-proxy", LOG, proxy::start, Datapath::setProxyPort, inputs);
    }

    @Override
    public ComponentStatus health() {
        String stuck = proxy.stuck();
        if (stuck != null) return ComponentStatus.failed("proxy", stuck + ": L7-governed connections go unanswered");
        return runner.health("proxy", "L7-governed ports are closed", "listening on port ", port -> "listening on port "
                + port + " (transparent), " + proxy.openConnections() + " connection(s) open, " + proxy.requests.sum()
                + " request(s), " + proxy.denied.sum() + " denied, " + proxy.rejected.sum() + " rejected");
    }

    @Deactivate
    void deactivate() {
        runner.close();
        proxy.close();
    }
}
