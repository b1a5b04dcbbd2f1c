package io.septum.datapath.ebpf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.IpcacheEntry;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.datapath.DatapathException;
import io.septum.api.policy.Direction;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.Protocol;
import io.septum.testsupport.EventLog;
import io.septum.testsupport.RequiresRoot;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Maps filled to capacity, with real packets: a change that does not fit is refused before anything is written,
 * with the map named, so the kernel keeps the last good state (nothing of the change is enforced, not even for a
 * moment, and nothing of the old state is lost), and the next change that fits applies. The policy map (262,144
 * entries) and the ipcache (65,536) are overflowed by one change each, and the endpoints map (4,096) by one endpoint
 * too many. Needs root.
 */
@RequiresRoot("netns, tc, bpffs")
class FullMapsPacketTest {
    static final long ID_A = 1001, ID_B = 1002, ID_C = 1003, EP_A = 31, EP_B = 32, EP_C = 33;
    static final int POLICY_CAPACITY = 262_144, IPCACHE_CAPACITY = 65_536, ENDPOINTS_CAPACITY = 4_096;

    static NetLab lab;
    static NetLab.Ns a, b, c;
    static EbpfDatapath dp;
    static List<IpcacheEntry> baseIpcache;
    static final EventLog<DatapathEvent> events = new EventLog<>(DatapathEvent::timestampNanos);

    @BeforeAll
    static void setUp() throws Exception {
        lab = new NetLab();
        a = lab.add(1);
        b = lab.add(2);
        c = lab.add(3);
        lab.listen(b, 80);
        lab.listen(c, 80);
        lab.listen(b, 81);
        dp = lab.openDatapath(events);
        baseIpcache = List.of(new IpcacheEntry(a.ip4() + "/32", ID_A, "test"), new IpcacheEntry(b.ip4() + "/32", ID_B, "test"));
        dp.syncIpcache(baseIpcache);
        dp.upsertEndpoint(ep(a, EP_A, ID_A, false), List.of());
        lab.awaitListening(b, 80);
        lab.awaitListening(b, 81);
        lab.awaitListening(c, 80);
    }

    @AfterAll
    static void tearDown() {
        if (lab != null) lab.close(); // the datapath and its pins too
    }

    static DatapathEndpoint ep(NetLab.Ns ns, long id, long identity, boolean ingress) {
        return new DatapathEndpoint(id, identity, ns.hostIf(), ns.ifindex(), List.of(ns.ip4()), ingress, false, false);
    }

    static PolicyEntry allow(long identity, int port, int rule) {
        return new PolicyEntry(Direction.INGRESS, identity, Protocol.TCP, port, port, PolicyAction.ALLOW, rule);
    }

    @Test
    void aPolicyChangeThatOverflowsThePolicyMapLeavesTheLastGoodPolicy() throws Exception {
        List<PolicyEntry> good = List.of(allow(ID_A, 80, 1));
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true), good);
        assertTrue(lab.connects(a, b.ip4(), 80));
        assertFalse(lab.connects(a, b.ip4(), 81));

        // one more entry than the map holds: A on 81 among them, which must not open even for a moment
        List<PolicyEntry> huge = new ArrayList<>(POLICY_CAPACITY + 1);
        huge.add(allow(ID_A, 81, 2));
        for (int i = 0; huge.size() <= POLICY_CAPACITY; i++) huge.add(allow(100_000 + i, 80, 3));
        DatapathException e = assertThrows(DatapathException.class, () -> dp.upsertEndpoint(ep(b, EP_B, ID_B, true), huge));
        assertTrue(e.getMessage().contains("septum_policy") && e.getMessage().contains("map full"), e.getMessage());
        assertTrue(e.getMessage().contains("previous state was kept"), e.getMessage());
        assertTrue(e.getMessage().contains("needs 262145 more entries"), "refused before writing: " + e.getMessage());
        assertEquals(1, dp.policy(EP_B).size(), "the last good policy, nothing of the refused one: " + dp.policy(EP_B));
        assertTrue(lab.connects(a, b.ip4(), 80), "the old allow still holds");
        assertFalse(lab.connects(a, b.ip4(), 81), "nothing of the refused change is enforced");

        // the next change that fits applies
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true), List.of(allow(ID_A, 81, 4)));
        assertTrue(lab.connects(a, b.ip4(), 81));
        assertFalse(lab.connects(a, b.ip4(), 80));
    }

    @Test
    void anIpcacheThatOverflowsTheMapLeavesTheLastGoodIpcache() throws Exception {
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true), List.of(allow(ID_A, 80, 1)));
        assertTrue(lab.connects(a, b.ip4(), 80));

        // A's address moves to another identity in the same change that overflows: the move must not happen
        List<IpcacheEntry> huge = new ArrayList<>(IPCACHE_CAPACITY + 1);
        huge.add(new IpcacheEntry(a.ip4() + "/32", 4242, "test"));
        huge.add(baseIpcache.get(1));
        for (int i = 0; huge.size() <= IPCACHE_CAPACITY; i++) {
            huge.add(new IpcacheEntry("10.200." + (i >> 8 & 0xff) + "." + (i & 0xff) + "/32", 5000 + (i % 7), "test"));
        }
        DatapathException e = assertThrows(DatapathException.class, () -> dp.syncIpcache(huge));
        assertTrue(e.getMessage().contains("septum_ipcache") && e.getMessage().contains("map full"), e.getMessage());
        assertTrue(e.getMessage().contains("needs 65535 more entries"), "refused before writing: " + e.getMessage());

        assertEquals(baseIpcache.size(), dp.ipcache().size(), "nothing of the refused ipcache: " + dp.ipcache().size());
        assertTrue(lab.connects(a, b.ip4(), 80), "A keeps its identity: its allow still holds");
        dp.syncIpcache(baseIpcache);
        assertTrue(lab.connects(a, b.ip4(), 80));
    }

    @Test
    void anEndpointThatDoesNotFitTheEndpointsMapIsRefusedAndTheOthersKeepTheirs() throws Exception {
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true), List.of(allow(ID_A, 80, 1)));
        assertTrue(lab.connects(a, b.ip4(), 80));
        // the map filled up by entries for interfaces that do not exist (no packet ever looks them up)
        BpfMap map = dp.maps().endpoints;
        assertEquals(ENDPOINTS_CAPACITY, map.maxEntries);
        byte[] value = map.lookup(Bytes.u32(b.ifindex()));
        List<byte[]> fillers = new ArrayList<>();
        try {
            int present = map.keys().size();
            for (int i = 0; present + i < ENDPOINTS_CAPACITY; i++) {
                byte[] key = Bytes.u32(2_000_000 + i);
                assertEquals(0, map.update(key, value, LibBpf.BPF_NOEXIST), "filler " + i);
                fillers.add(key);
            }
            // C is new: its entry does not fit, and nothing of it is written
            DatapathException e = assertThrows(DatapathException.class,
                    () -> dp.upsertEndpoint(ep(c, EP_C, ID_C, true), List.of(allow(ID_A, 80, 2))));
            assertTrue(e.getMessage().contains("septum_endpoints holds 4096 entries and is full (map full)")
                    && e.getMessage().contains("previous state was kept"), e.getMessage());
            assertTrue(dp.policy(EP_C).isEmpty(), "nothing of C's policy: " + dp.policy(EP_C));
            assertTrue(dp.endpoints().stream().noneMatch(x -> x.endpointId() == EP_C), "no entry for C");
            // B's entry exists: a change of its policy needs no new entry there and applies
            dp.upsertEndpoint(ep(b, EP_B, ID_B, true), List.of(allow(ID_A, 81, 3)));
            assertTrue(lab.connects(a, b.ip4(), 81));
            assertFalse(lab.connects(a, b.ip4(), 80));
        } finally {
            for (byte[] key : fillers) map.delete(key);
        }
        // room again: C is enforced (ingress from A on 80 only)
        dp.upsertEndpoint(ep(c, EP_C, ID_C, true), List.of(allow(ID_A, 81, 4)));
        assertFalse(lab.connects(a, c.ip4(), 80));
        dp.upsertEndpoint(ep(c, EP_C, ID_C, true), List.of(allow(ID_A, 80, 5)));
        assertTrue(lab.connects(a, c.ip4(), 80));
        dp.removeEndpoint(EP_C);
    }
}
