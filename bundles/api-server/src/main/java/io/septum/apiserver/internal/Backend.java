package io.septum.apiserver.internal;

import io.septum.api.EndpointManager;
import io.septum.api.IdentityAllocator;
import io.septum.api.datapath.Datapath;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowRelay;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyRepository;

/**
 * The services the routes call. The DS component answers {@link #find} from its dynamic references; tests answer
 * from fakes, overriding {@code find} or a getter. A getter whose service is absent throws an {@link HttpException}
 * 503 naming it, so that {@code status} keeps working while a component is down and every other call says which one.
 */
public interface Backend {
    /** The bound service of this type, or null while there is none (here: none at all). */
    default <T> T find(Class<T> type) {
        return null;
    }

    /** The bound service of this type, or the 503 that names it ({@code what}). */
    default <T> T need(Class<T> type, String what) {
        T service = find(type);
        if (service == null) throw unavailable(what);
        return service;
    }

    default EndpointManager endpointManager() {
        return need(EndpointManager.class, "the endpoint manager");
    }

    default IdentityAllocator identityAllocator() {
        return need(IdentityAllocator.class, "the identity allocator");
    }

    default PolicyRepository policyRepository() {
        return need(PolicyRepository.class, "the policy repository");
    }

    default PolicyEngine policyEngine() {
        return need(PolicyEngine.class, "the policy engine");
    }

    default Datapath datapath() {
        return need(Datapath.class, "the datapath");
    }

    /** The flow observer ({@code /v1/flows}); absent in agents without the observer bundle. */
    default FlowObserver flowObserver() {
        return need(FlowObserver.class, "the flow observer (bundle septum-observer)");
    }

    /** The services ({@code /v1/services}); absent in agents without the services bundle. */
    default io.septum.api.service.ServiceManager serviceManager() {
        return need(io.septum.api.service.ServiceManager.class, "the service manager (bundle septum-services)");
    }

    /** Policies from observed flows ({@code /v1/policy/suggest}); absent without the observer bundle. */
    default io.septum.api.flow.PolicySuggester policySuggester() {
        return need(io.septum.api.flow.PolicySuggester.class, "the policy suggester (bundle septum-observer)");
    }

    /** A draft policy judged against recorded flows and what is in force ({@code /v1/policy/impact}, {@code /diff}). */
    default io.septum.api.flow.PolicyImpact policyImpact() {
        return need(io.septum.api.flow.PolicyImpact.class, "policy impact (bundle septum-observer, with the policy, endpoint and identity bundles)");
    }

    /** The policy history ({@code /v1/policy/history}, {@code /rollback}); part of the policy bundle. */
    default io.septum.api.policy.PolicyHistory policyHistory() {
        return need(io.septum.api.policy.PolicyHistory.class, "the policy history (bundle septum-policy)");
    }

    /** The agent's shell for {@code septum shell} ({@code /v1/shell}); part of the shell bundle. */
    default io.septum.api.shell.RemoteShell remoteShell() {
        return need(io.septum.api.shell.RemoteShell.class, "the remote shell (bundle septum-shell, with Gogo)");
    }

    /** Web UI sessions ({@code /v1/ui/login}); part of the web UI bundle. */
    default io.septum.api.ui.UiLogin uiLogin() {
        return need(io.septum.api.ui.UiLogin.class, "the web UI (bundle septum-web-ui)");
    }

    /** Cluster mode ({@code /v1/cluster}); absent when standalone (no etcdEndpoints, or no septum-kvstore-etcd). */
    default io.septum.api.ClusterInfo clusterInfo() {
        return need(io.septum.api.ClusterInfo.class, "cluster mode (standalone: no etcdEndpoints in etc/io.septum.cluster.cfg)");
    }

    /** Other nodes' endpoints ({@code /v1/cluster/endpoints}); absent when standalone. */
    default io.septum.api.RemoteEndpoints remoteEndpoints() {
        return need(io.septum.api.RemoteEndpoints.class, "cluster mode (standalone: no etcdEndpoints in etc/io.septum.cluster.cfg)");
    }

    /** Cluster policies ({@code /v1/cluster/policies}); absent when standalone. */
    default io.septum.api.policy.ClusterPolicies clusterPolicies() {
        return need(io.septum.api.policy.ClusterPolicies.class, "cluster policies (standalone: no etcdEndpoints in etc/io.septum.cluster.cfg)");
    }

    /** Every node's flows ({@code /v1/flows?cluster=true}); absent while the peer flow component is not running. */
    default FlowRelay flowRelay() {
        return need(FlowRelay.class, "the flow relay (septum-api-server's peer flow component)");
    }

    /** The DNS proxy's FQDN cache ({@code /v1/fqdn/cache}); part of the proxy bundle. */
    default io.septum.api.fqdn.FqdnCache fqdnCache() {
        return need(io.septum.api.fqdn.FqdnCache.class, "the FQDN cache (bundle septum-proxy-http's DNS proxy)");
    }

    /** Whether each service is bound, without throwing: for {@code status}. */
    default boolean has(Class<?> service) {
        try {
            if (service == EndpointManager.class) endpointManager();
            else if (service == IdentityAllocator.class) identityAllocator();
            else if (service == PolicyRepository.class) policyRepository();
            else if (service == PolicyEngine.class) policyEngine();
            else if (service == Datapath.class) datapath();
            else if (service == FlowObserver.class) flowObserver();
            else if (service == io.septum.api.ClusterInfo.class) clusterInfo();
            else if (service == io.septum.api.RemoteEndpoints.class) remoteEndpoints();
            else return false;
            return true;
        } catch (HttpException e) {
            return false;
        }
    }

    /** The agent's status, assembled by its own component (bundle septum-status); the API only asks it. */
    default io.septum.api.AgentStatusService statusService() {
        return need(io.septum.api.AgentStatusService.class, "the status service (bundle septum-status)");
    }

    static HttpException unavailable(String what) {
        return new HttpException(503, what + " is not running in the agent (see 'septum status' and the agent's log)");
    }
}
