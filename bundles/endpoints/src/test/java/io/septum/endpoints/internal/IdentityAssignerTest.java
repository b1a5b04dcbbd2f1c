package io.septum.endpoints.internal;

import io.septum.api.EndpointState;
import io.septum.api.Identity;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

import static io.septum.endpoints.internal.Fakes.spec;
import static org.junit.jupiter.api.Assertions.*;

class IdentityAssignerTest {
    final Fakes.Allocator ids = new Fakes.Allocator();
    final EndpointTable table = new EndpointTable(ids);
    final IdentityAssigner assigner = new IdentityAssigner(ids);

    ManagedEndpoint reported(String id, String app) {
        ManagedEndpoint ep = table.getOrCreate("netns", id);
        table.apply(ep, spec(id, id, null, Map.of("app", app), "veth-" + id, "10.199.0.1"), null);
        return ep;
    }

    @Test
    void anEndpointNeverPushedGetsTheInitProgramFirstThenItsOwnIdentity() {
        ManagedEndpoint ep = reported("a", "web");
        table.takeDirtyState();
        IdentityAssigner.Round round = assigner.gather(table, List.of(), e -> true);
        assertEquals(List.of(EndpointWork.init(ep)), round.initWork());
        assertTrue(round.initWork().get(0).init());
        round.allocate();
        round.commit(table);
        assertFalse(round.retry());
        assertNotNull(ep.identity);
        assertTrue(ep.holdsRef);
        assertFalse(ep.needsIdentity);
        assertEquals(EndpointState.REGENERATING, ep.state);
        assertEquals(1, ids.refs(ep.identity.id()));
        assertNotNull(table.takeDirtyState(), "the new identity is to be saved");
        assertTrue(assigner.gather(table, List.of(), e -> true).initWork().isEmpty(), "nothing left to allocate");
    }

    @Test
    void anEndpointThatCannotBeAttachedGetsNoInitProgramAndAsksForARetry() {
        reported("a", "web");
        IdentityAssigner.Round round = assigner.gather(table, List.of(), e -> false);
        assertEquals(List.of(), round.initWork());
        assertTrue(round.retry());
    }

    @Test
    void anEndpointThatChangedDuringTheAllocationGivesItsIdentityBack() {
        ManagedEndpoint ep = reported("a", "web");
        IdentityAssigner.Round round = assigner.gather(table, List.of(), e -> true);
        round.allocate();
        table.apply(ep, spec("a", "a", null, Map.of("app", "db"), "veth-a", "10.199.0.1"), null);
        round.commit(table);
        assertTrue(round.retry());
        assertNull(ep.identity);
        assertEquals(Map.of(), ids.refs, "the identity allocated for the old labels is released");
    }

    @Test
    void aFailedAllocationIsTheEndpointsErrorAndAsksForARetry() {
        ManagedEndpoint ep = reported("a", "web");
        ids.unreachable = true;
        IdentityAssigner.Round round = assigner.gather(table, List.of(), e -> true);
        round.allocate();
        round.commit(table);
        assertTrue(round.retry());
        assertTrue(ep.error.startsWith("cannot allocate an identity: "), ep.error);
        assertEquals(EndpointState.WAITING_FOR_IDENTITY, ep.state);
    }

    @Test
    void aPrefixHoldsItsCidrIdentityWhilePoliciesNameIt() {
        IdentityAssigner.Round round = assigner.gather(table, List.of("10.0.0.0/8", "192.0.2.7"), e -> true);
        round.allocate();
        round.commit(table);
        assertEquals(java.util.Set.of("10.0.0.0/8", "192.0.2.7/32"), assigner.cidrs().keySet());
        Identity net = assigner.cidrs().get("10.0.0.0/8");
        assertEquals(1, ids.refs(net.id()));

        round = assigner.gather(table, List.of("10.0.0.0/8"), e -> true);
        round.allocate();
        round.commit(table);
        assertEquals(java.util.Set.of("10.0.0.0/8"), assigner.cidrs().keySet());
        assertEquals(1, ids.refs(net.id()), "a prefix already held is not allocated again");

        round = assigner.gather(table, List.of(), e -> true);
        round.allocate();
        round.commit(table);
        assertEquals(Map.of(), assigner.cidrs());
        assertEquals(0, ids.refs(net.id()));
    }

    @Test
    void whatARoundAllocatedIsGivenBackWhenTheManagerClosedMeanwhile() {
        reported("a", "web");
        IdentityAssigner.Round round = assigner.gather(table, List.of("10.0.0.0/8"), e -> true);
        round.allocate();
        round.releaseAll();
        assertEquals(Map.of(), ids.refs);
    }
}
