package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.BundleContext;

/** The component as the routes see it: every service it has not got is a 503 naming that service. */
class ApiServerComponentTest {
    @TempDir
    Path dir;

    @Test
    void aServiceThatIsNotRunningIsA503NamingIt() {
        ApiServerComponent c = new ApiServerComponent(context(), config());
        try {
            String cluster = "cluster mode (standalone: no etcdEndpoints in etc/io.septum.cluster.cfg)";
            List<Map.Entry<String, Supplier<?>>> services = List.of(
                    Map.entry("the status service (bundle septum-status)", c::statusService),
                    Map.entry("the endpoint manager", c::endpointManager),
                    Map.entry("the identity allocator", c::identityAllocator),
                    Map.entry("the policy repository", c::policyRepository),
                    Map.entry("the policy engine", c::policyEngine),
                    Map.entry("the datapath", c::datapath),
                    Map.entry("cluster policies (standalone: no etcdEndpoints in etc/io.septum.cluster.cfg)", c::clusterPolicies),
                    Map.entry(cluster, c::remoteEndpoints),
                    Map.entry(cluster, c::clusterInfo),
                    Map.entry("the service manager (bundle septum-services)", c::serviceManager),
                    Map.entry("the policy suggester (bundle septum-observer)", c::policySuggester),
                    Map.entry("the flow relay (septum-api-server's peer flow component)", c::flowRelay),
                    Map.entry("the flow observer (bundle septum-observer)", c::flowObserver));
            for (Map.Entry<String, Supplier<?>> s : services) {
                HttpException e = assertThrows(HttpException.class, s.getValue()::get, s.getKey());
                assertEquals(503, e.status(), s.getKey());
                assertEquals(s.getKey() + " is not running in the agent (see 'septum status' and the agent's log)",
                        e.getMessage());
            }
        } finally {
            c.deactivate();
        }
    }

    /** Every key at its default: the socket goes into the run directory. */
    private static ApiServerComponent.Config config() {
        return (ApiServerComponent.Config) Proxy.newProxyInstance(ApiServerComponent.Config.class.getClassLoader(),
                new Class<?>[] {ApiServerComponent.Config.class}, (p, m, a) -> m.getDefaultValue());
    }

    private BundleContext context() {
        return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {BundleContext.class},
                (p, m, a) -> m.getName().equals("getProperty") && "septum.run.dir".equals(a[0]) ? dir.toString() : null);
    }
}
