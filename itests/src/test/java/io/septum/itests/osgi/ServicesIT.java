package io.septum.itests.osgi;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import io.septum.api.AgentReady;
import io.septum.api.EndpointManager;
import io.septum.api.Identity;
import io.septum.api.IdentityAllocator;
import io.septum.api.datapath.Datapath;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyRepository;
import javax.inject.Inject;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/** The agent's services come up, wired to each other, and the ready marker appears (injection waits for them). */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ServicesIT extends SeptumTestSupport {
    @Inject
    EndpointManager endpoints;
    @Inject
    IdentityAllocator identities;
    @Inject
    PolicyRepository policies;
    @Inject
    PolicyEngine engine;
    @Inject
    Datapath datapath;
    @Inject
    AgentReady ready;
    @Inject
    io.septum.api.flow.FlowObserver observer;
    @Inject
    io.septum.api.AgentStatusService status;

    @Test
    public void agentIsReady() {
        assertNotNull(ready);
        assertTrue("readySince " + ready.readySince(), ready.readySince() > 0
                && ready.readySince() <= System.currentTimeMillis());
    }

    @Test
    public void identityAllocatorKnowsTheReservedIdentities() {
        assertTrue("reserved identity 1 (host) in " + identities.list(),
                identities.list().stream().map(Identity::id).anyMatch(id -> id == 1L));
    }

    @Test
    public void policyRepositoryStartsEmptyInTheConfiguredMode() {
        assertEquals(EnforcementMode.DEFAULT, policies.mode());
        assertEquals(0, policies.list().size());
        assertNotNull(engine.empty());
    }

    @Test
    public void endpointManagerAndDatapathAnswer() {
        assertNotNull(endpoints.list());
        assertNotNull(endpoints.ipcache());
        assertNotNull(datapath.stats());
    }

    @Test
    public void flowObserverAnswersAndItsFiguresAreInTheStatus() {
        assertNotNull(observer.query(io.septum.api.flow.FlowFilter.ALL, 10));
        assertEquals(8192, observer.stats().maxFlows());
        assertNotNull("flows in " + status.status(), status.status().flows());
        assertEquals(8192, status.status().flows().maxFlows());
    }
}
