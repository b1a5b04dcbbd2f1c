package io.septum.observer.internal;

import io.septum.api.EndpointIndex;
import io.septum.api.IdentityAllocator;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.ImpactReport;
import io.septum.api.flow.PolicyDiff;
import io.septum.api.flow.PolicyImpact;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import java.time.Instant;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code policy impact} and {@code policy diff} as a service: registered once the flow store, the policy repository,
 * the endpoint index and the identity allocator are all there, since every answer needs them.
 */
@Component(service = PolicyImpact.class)
public final class ImpactComponent implements PolicyImpact {
    private final ImpactAnalyzer analyzer;

    @Activate
    public ImpactComponent(@Reference FlowObserver flows, @Reference PolicyRepository repository,
                           @Reference EndpointIndex endpoints, @Reference IdentityAllocator identities) {
        this.analyzer = new ImpactAnalyzer(new ImpactAnalyzer.Inputs(flows, repository::current, repository::mode,
                repository::list, () -> endpoints.snapshot().endpoints(), identities::list));
    }

    @Override
    public ImpactReport impact(PolicySet draft, Instant since) {
        return analyzer.impact(draft, since);
    }

    @Override
    public PolicyDiff diff(PolicySet draft) {
        return analyzer.diff(draft);
    }
}
