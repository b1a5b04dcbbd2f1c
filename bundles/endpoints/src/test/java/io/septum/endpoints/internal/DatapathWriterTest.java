package io.septum.endpoints.internal;

import io.septum.api.EndpointState;
import io.septum.api.IpcacheEntry;
import io.septum.api.ReservedIdentity;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static io.septum.endpoints.internal.Fakes.spec;
import static org.junit.jupiter.api.Assertions.*;

class DatapathWriterTest {
    final Object lock = new Object();
    final Fakes.Allocator ids = new Fakes.Allocator();
    final Fakes.Policies policies = new Fakes.Policies();
    final Fakes.FakeDatapath datapath = new Fakes.FakeDatapath();
    final Fakes.Host host = new Fakes.Host();
    final EndpointTable table = new EndpointTable(ids);
    final DatapathWriter writer = new DatapathWriter(lock, table, datapath, host);
    ManagedEndpoint web;

    @BeforeEach
    void webWithItsIdentity() {
        host.ifindexes.put("veth-w", 11);
        web = table.getOrCreate("netns", "w");
        table.apply(web, spec("w", "web", null, Map.of("app", "web"), "veth-w", "10.199.0.1"), null);
        web.identity = ids.allocate(web.labels);
        web.holdsRef = true;
        web.needsIdentity = false;
    }

    DatapathWriter.PolicyInputs inputs(long revision) {
        return new DatapathWriter.PolicyInputs(policies, EnforcementMode.DEFAULT, revision,
                List.of(ReservedIdentity.WORLD.identity()), Map.of());
    }

    @Test
    void anEndpointIsWrittenOnlyWhenWhatItGetsChanged() {
        assertTrue(writer.attachable(web));
        assertEquals(11, web.ifindex);
        assertEquals(new DatapathWriter.Pushed(false, 1), writer.push(List.of(new EndpointWork(web)), inputs(3)));
        assertEquals(EndpointState.READY, web.state);
        assertEquals(3, web.revision);
        assertEquals(new DatapathWriter.Pushed(false, 0), writer.push(List.of(new EndpointWork(web)), inputs(4)),
                "the same program and policy are not written again");
        assertEquals(4, web.revision, "but the endpoint has realised the newer revision");

        policies.rules.add(new Fakes.Rule("netns:app=web", Direction.INGRESS, "reserved:world", 80, 1));
        assertEquals(new DatapathWriter.Pushed(false, 1), writer.push(List.of(new EndpointWork(web)), inputs(5)));
        assertTrue(datapath.endpoints.get(web.id).ingressEnforced());
        assertEquals(List.of("upsert " + web.id, "upsert " + web.id), datapath.calls);
    }

    /**
     * A pass whose inputs are those of the last push (only other nodes' ipcache entries changed) does not resolve the
     * endpoint's policy again; a new universe, new peers' ports or a new revision does.
     */
    @Test
    void thePolicyIsResolvedAgainOnlyWhenWhatItIsResolvedFromChanged() {
        assertTrue(writer.attachable(web));
        writer.push(List.of(new EndpointWork(web)), inputs(3));
        assertEquals(1, policies.resolves.get());
        writer.push(List.of(new EndpointWork(web)), inputs(3));
        assertEquals(1, policies.resolves.get(), "same inputs: the last resolution is reused");
        writer.push(List.of(new EndpointWork(web)), new DatapathWriter.PolicyInputs(policies, EnforcementMode.DEFAULT, 3,
                List.of(ReservedIdentity.WORLD.identity(), ReservedIdentity.HOST.identity()), Map.of()));
        assertEquals(2, policies.resolves.get(), "another universe");
        writer.push(List.of(new EndpointWork(web)), new DatapathWriter.PolicyInputs(policies, EnforcementMode.DEFAULT, 3,
                List.of(ReservedIdentity.WORLD.identity(), ReservedIdentity.HOST.identity()),
                Map.of(300L, List.of(new io.septum.api.NamedPort("http", 80, "TCP")))));
        assertEquals(3, policies.resolves.get(), "other peers' ports");
        writer.push(List.of(new EndpointWork(web)), inputs(4));
        assertEquals(4, policies.resolves.get(), "a new revision");
    }

    @Test
    void theInitProgramEnforcesBothWaysWithTheInitIdentityAndLeavesTheEndpointWaiting() {
        web.identity = null;
        web.state = EndpointState.WAITING_FOR_IDENTITY;
        writer.attachable(web);
        assertEquals(new DatapathWriter.Pushed(false, 1), writer.push(List.of(EndpointWork.init(web)), inputs(1)));
        var pushed = datapath.endpoints.get(web.id);
        assertEquals(ReservedIdentity.INIT.id(), pushed.identity());
        assertTrue(pushed.ingressEnforced() && pushed.egressEnforced());
        assertEquals(EndpointState.WAITING_FOR_IDENTITY, web.state);
    }

    @Test
    void workForAnOlderGenerationIsNotWritten() {
        writer.attachable(web);
        EndpointWork stale = new EndpointWork(web);
        web.generation++;
        assertEquals(new DatapathWriter.Pushed(false, 0), writer.push(List.of(stale), inputs(1)));
        assertEquals(List.of(), datapath.calls);
    }

    @Test
    void aRefusedWriteKeepsThePreviousStateAndIsTheEndpointsError() {
        writer.attachable(web);
        datapath.failUpserts = 1;
        assertEquals(new DatapathWriter.Pushed(true, 0), writer.push(List.of(new EndpointWork(web)), inputs(1)));
        assertTrue(web.error.startsWith("datapath refused the update"), web.error);
        assertNull(web.pushedEndpoint);
        assertNotEquals(EndpointState.READY, web.state);
    }

    @Test
    void anEndpointWhoseInterfaceIsMissingCannotBeAttached() {
        ManagedEndpoint ghost = table.getOrCreate("netns", "g");
        table.apply(ghost, spec("g", "ghost", null, Map.of(), "veth-gone", "10.199.0.2"), null);
        assertFalse(writer.attachable(ghost));
        assertTrue(ghost.error.contains("veth-gone"), ghost.error);
    }

    @Test
    void anUnchangedIpcacheIsNotPushedAgain() {
        var cache = List.of(new IpcacheEntry("10.199.0.1/32", 256, "endpoint:1"));
        assertTrue(writer.syncIpcache(cache));
        assertTrue(writer.syncIpcache(List.copyOf(cache)));
        assertEquals(List.of("ipcache"), datapath.calls);
        synchronized (lock) {
            assertNull(writer.ipcacheError());
        }
    }

    @Test
    void aRemovalIsRetriedThenGivenUpAfterFiveAttempts() {
        table.drop(web);
        assertEquals(List.of(web.id), table.toRemove());
        datapath.failRemoves = 5;
        for (int attempt = 1; attempt < 5; attempt++) {
            assertTrue(writer.remove(table.toRemove()), "attempt " + attempt + " asks for another");
            assertEquals(List.of(web.id), table.toRemove());
        }
        assertFalse(writer.remove(table.toRemove()), "the fifth failure gives up");
        assertEquals(List.of(), table.toRemove());
    }

    @Test
    void aRemovalThatWorksForgetsTheId() {
        table.drop(web);
        datapath.failRemoves = 1;
        assertTrue(writer.remove(table.toRemove()));
        assertFalse(writer.remove(table.toRemove()));
        assertEquals(List.of(), table.toRemove());
        assertEquals(List.of("remove-failed " + web.id, "remove " + web.id), datapath.calls);
    }
}
