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
    void aLearnedAddressCarriesItsNamesAndChangesIdentityWithThem() {
        IdentityAssigner.Round round = assigner.gather(table, List.of("192.0.2.0/24"),
                Map.of("192.0.2.7", java.util.Set.of("api.example.com")), e -> true);
        round.allocate();
        round.commit(table);
        Identity api = assigner.cidrs().get("192.0.2.7/32");
        assertEquals(List.of("cidr:192.0.2.7/32", "fqdn:api.example.com", "reserved:world"), api.labels());
        assertEquals(List.of("cidr:192.0.2.0/24", "reserved:world"), assigner.cidrs().get("192.0.2.0/24").labels());

        // a second name for the same address: a new identity with both names, the old one given back
        round = assigner.gather(table, List.of("192.0.2.0/24"),
                Map.of("192.0.2.7", java.util.Set.of("api.example.com", "www.example.com")), e -> true);
        round.allocate();
        round.commit(table);
        Identity both = assigner.cidrs().get("192.0.2.7/32");
        assertNotEquals(api.id(), both.id());
        assertTrue(both.labels().contains("fqdn:www.example.com"), both.labels().toString());
        assertEquals(0, ids.refs(api.id()));
        assertEquals(1, ids.refs(both.id()));

        // the cache forgot it: the identity goes
        round = assigner.gather(table, List.of("192.0.2.0/24"), Map.of(), e -> true);
        round.allocate();
        round.commit(table);
        assertEquals(java.util.Set.of("192.0.2.0/24"), assigner.cidrs().keySet());
        assertEquals(0, ids.refs(both.id()));
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
