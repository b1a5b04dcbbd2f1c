package io.septum.endpoints.internal;

import io.septum.api.EndpointState;
import io.septum.api.datapath.BpfEndpoint;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

import static io.septum.endpoints.internal.Fakes.spec;
import static org.junit.jupiter.api.Assertions.*;

class EndpointTableTest {
    final Fakes.Allocator ids = new Fakes.Allocator();
    final EndpointTable table = new EndpointTable(ids);

    ManagedEndpoint reported(String source, String id, String name, String namespace) {
        ManagedEndpoint ep = table.getOrCreate(source, id);
        table.apply(ep, spec(id, name, namespace, Map.of("app", name), "veth-" + id, "10.199.0.1"), null);
        return ep;
    }

    static EndpointStore.Stored stored(long id, String sourceId) {
        return new EndpointStore.Stored(id, "netns", sourceId, sourceId, "default", List.of("netns:app=" + sourceId),
                "veth-" + sourceId, null, List.of("10.199.0." + id), 0, Map.of(), null, false);
    }

    @Test
    void idsGoRoundRobinSoThatARemovedEndpointsIdIsNotHandedOutAtOnce() {
        ManagedEndpoint a = reported("netns", "a", "a", null);
        assertEquals(1, a.id);
        table.drop(a);
        assertEquals(List.of(1L), table.toRemove(), "a was reported, so it has datapath state to remove");
        assertEquals(2, reported("netns", "b", "b", null).id);
        assertSame(table.get("netns", "b"), table.getOrCreate("netns", "b"), "a known endpoint keeps its id");
        table.removed(1);
        assertEquals(List.of(), table.toRemove());
    }

    @Test
    void anEndpointIsFoundByIdByNamespaceAndNameOrByAUniqueName() {
        ManagedEndpoint web = reported("netns", "w1", "web", "prod");
        reported("netns", "w2", "web", "dev");
        ManagedEndpoint db = reported("netns", "d", "db", null);
        assertSame(web, table.find(String.valueOf(web.id)).orElseThrow());
        assertSame(web, table.find("prod/web").orElseThrow());
        assertSame(db, table.find("db").orElseThrow());
        assertTrue(table.find("web").isEmpty(), "a name two endpoints have finds neither");
        assertTrue(table.find("default/web").isEmpty());
    }

    @Test
    void restoreKeepsWhatTheKernelEnforcesAndRemovesPinnedIdsNoFileClaimsAfterTheGrace() {
        var state = new EndpointStore.State(1, 10, List.of(stored(3, "a"), stored(4, "b")),
                Map.of("prod", Map.of("team", "a")));
        Map<Long, BpfEndpoint> enforcing = new HashMap<>(Map.of(
                3L, new BpfEndpoint(11, 3, 0, 0, "veth-a"),
                7L, new BpfEndpoint(17, 7, 0, 0, "veth-x")));
        long deadline = 5_000;
        assertTrue(table.restore(state, enforcing, deadline));
        assertEquals(Set.of(7L), enforcing.keySet(), "what no persisted endpoint claims is left over");
        assertTrue(table.byId(3).restoredPending);
        assertTrue(table.enforcedAtStart(3));
        assertFalse(table.byId(4).restoredPending, "b was persisted but not enforcing");
        assertFalse(table.enforcedAtStart(4));
        assertEquals(Map.of("prod", Map.of("team", "a")), table.namespaceLabels());
        assertEquals(10, table.getOrCreate("netns", "new").id, "ids go on where the file left them");

        table.expire(deadline - 1);
        assertEquals(List.of(), table.toRemove());
        table.expire(deadline);
        assertEquals(List.of(3L, 7L), table.toRemove(), "restored a (enforcing) and the orphan 7 go; b had no state");
        assertNull(table.byId(3));
        assertNull(table.byId(4));
    }

    @Test
    void aGoneSourcesEndpointsAreDisconnectedUntilTheDeadline() {
        ManagedEndpoint a = reported("netns", "a", "a", null);
        ManagedEndpoint d = reported("docker", "d", "d", null);
        long generation = a.generation;
        table.disconnect("netns", 1_000);
        assertEquals(EndpointState.DISCONNECTED, a.state);
        assertEquals(generation + 1, a.generation);
        assertNotEquals(EndpointState.DISCONNECTED, d.state);
        table.expire(999);
        assertSame(a, table.byId(a.id));
        table.expire(1_000);
        assertNull(table.byId(a.id));
        assertSame(d, table.byId(d.id));
    }

    @Test
    void aResyncDropsWhatTheSourceNoLongerHas() {
        reported("netns", "a", "a", null);
        reported("netns", "b", "b", null);
        reported("docker", "c", "c", null);
        assertFalse(table.dropAllBut("netns", Set.of("a", "b")));
        assertTrue(table.dropAllBut("netns", Set.of("a")));
        assertNotNull(table.get("netns", "a"));
        assertNull(table.get("netns", "b"));
        assertNotNull(table.get("docker", "c"));
    }

    @Test
    void theStateToSaveIsTakenOnceAfterEachChange() {
        assertNull(table.takeDirtyState());
        reported("netns", "b", "b", null);
        reported("netns", "a", "a", null);
        table.markDirty();
        var state = table.takeDirtyState();
        assertEquals(List.of(1L, 2L), state.endpoints().stream().map(EndpointStore.Stored::id).toList());
        assertEquals(3, state.nextId());
        assertNull(table.takeDirtyState());
        table.setNamespaceLabels("prod", Map.of("team", "a"), null);
        assertEquals(Map.of("prod", Map.of("team", "a")), table.takeDirtyState().namespaceLabels());
    }
}
