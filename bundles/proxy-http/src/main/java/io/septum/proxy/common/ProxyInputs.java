package io.septum.proxy.common;

import io.septum.api.EndpointIndex;
import io.septum.api.IdentityAllocator;
import io.septum.api.policy.PolicyRepository;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * What both proxies judge with, bound once for the bundle: the endpoint index (who is on each side), the identity
 * allocator (the labels of a peer that is no local endpoint) and the policy repository. Each may come and go; a
 * getter answers null meanwhile, and the proxies then refuse (fail closed). A service of this bundle only.
 */
@Component(service = ProxyInputs.class)
public final class ProxyInputs {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile EndpointIndex endpointIndex;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile IdentityAllocator identityAllocator;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    private volatile PolicyRepository policyRepository;

    public EndpointIndex endpoints() {
        return endpointIndex;
    }

    public IdentityAllocator identities() {
        return identityAllocator;
    }

    public PolicyRepository policies() {
        return policyRepository;
    }
}
