package io.septum.datapath.ebpf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.IpcacheEntry;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.datapath.FailsafePort;
import io.septum.api.policy.Direction;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.Protocol;
import io.septum.testsupport.EventLog;
import io.septum.testsupport.RequiresRoot;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The host firewall with real packets: a namespace (the peer) on a veth pair whose host side is one of "the host's
 * interfaces", with the host side's address in the ipcache as the host identity. Servers listen in the host's
 * namespace on the host side's address only, and in the peer. Needs root.
 */
@RequiresRoot("netns, tc, bpffs")
class HostFirewallPacketTest {
    static final long EP_HOST = 21, HOST = 1, WORLD = 2;
    static final int ALLOWED = 18080, CLOSED = 18081, FAILSAFE = 18022, PEER_PORT = 18090;

    static NetLab lab;
    static NetLab.Ns peer;
    static String hostIp;
    static EbpfDatapath dp;
    static final EventLog<DatapathEvent> events = new EventLog<>(DatapathEvent::timestampNanos);

    @BeforeAll
    static void setUp() throws Exception {
        lab = new NetLab();
        peer = lab.addPeerOfHost();
        hostIp = lab.hostSideIp4();
        for (int port : new int[] {ALLOWED, CLOSED, FAILSAFE}) {
            lab.startOnHost("socat", "TCP4-LISTEN:" + port + ",bind=" + hostIp + ",fork,reuseaddr", "EXEC:cat");
        }
        lab.startOnHost("socat", "TCP4-LISTEN:" + CLOSED + ",bind=" + lab.hostSideLinkLocal() + ",fork,reuseaddr", "EXEC:cat");
        lab.listen(peer, PEER_PORT);
        dp = lab.openDatapath(events);
        dp.syncIpcache(List.of(new IpcacheEntry(hostIp + "/32", HOST, "host")));
        lab.awaitListening(peer, PEER_PORT);
        // the host's listeners: up once a connection completes before any policy
        for (String[] at : new String[][] {{hostIp, "" + ALLOWED}, {hostIp, "" + CLOSED}, {hostIp, "" + FAILSAFE},
                {lab.hostSideLinkLocal(), "" + CLOSED}}) {
            boolean up = false;
            for (int i = 0; i < 20 && !up; i++) up = lab.connects(peer, at[0], Integer.parseInt(at[1])); // <= 20 x 1 s
            if (!up) throw new IllegalStateException("nothing listens on " + at[0] + ":" + at[1]);
        }
    }

    @AfterAll
    static void tearDown() {
        if (lab != null) lab.close(); // the datapath and its pins too
    }

    @BeforeEach
    void reset() throws Exception {
        dp.setFailsafePorts(List.of(new FailsafePort(Direction.INGRESS, Protocol.TCP, FAILSAFE)));
        dp.upsertEndpoint(host(false, false), List.of());
        events.forget();
    }

    static DatapathEndpoint host(boolean ingress, boolean egress) {
        return new DatapathEndpoint(EP_HOST, HOST, peer.hostIf(), peer.ifindex(), List.of(hostIp), ingress, egress,
                false, null, true);
    }

    static PolicyEntry entry(Direction d, long identity, int port, PolicyAction action, int rule) {
        return new PolicyEntry(d, identity, Protocol.TCP, port, port, action, rule);
    }

    @Test
    void hostIngressPolicyAllowsOnlyItsPortsAndTheFailsafeOnes() throws Exception {
        assertTrue(dp.isAttached(peer.ifindex(), true) && dp.isAttached(peer.ifindex(), false));
        BpfEndpoint entry = dp.endpoints().stream().filter(b -> b.endpointId() == EP_HOST).findFirst().orElseThrow();
        assertEquals(BpfEndpoint.FLAG_HOST, entry.flags() & BpfEndpoint.FLAG_HOST);

        dp.upsertEndpoint(host(true, false), List.of(entry(Direction.INGRESS, WORLD, ALLOWED, PolicyAction.ALLOW, 7),
                entry(Direction.INGRESS, WORLD, FAILSAFE, PolicyAction.DENY, 8)));
        assertTrue(lab.connects(peer, hostIp, ALLOWED), "the allowed port");
        DatapathEvent v = events.await("host verdict", e -> e.endpointId() == EP_HOST && e.type().equals("policy-verdict")
                && e.dstPort() == ALLOWED);
        assertEquals("INGRESS", v.direction());
        assertEquals(WORLD, v.srcIdentity());
        assertEquals(HOST, v.dstIdentity());
        assertEquals(7, v.ruleId());

        assertFalse(lab.connects(peer, hostIp, CLOSED), "a port no host rule allows");
        DatapathEvent d = events.await("host drop", e -> e.endpointId() == EP_HOST && e.type().equals("drop")
                && e.dstPort() == CLOSED);
        assertEquals(133, d.dropReason());

        assertTrue(lab.connects(peer, hostIp, FAILSAFE), "a failsafe port passes even against a deny");
        dp.setFailsafePorts(List.of());
        assertFalse(lab.connects(peer, hostIp, FAILSAFE), "without the failsafe port the deny holds");
    }

    @Test
    void hostEgressPolicyJudgesWhatTheHostStartsAndLetsRepliesOut() throws Exception {
        assertTrue(lab.connectsFromHost(peer.ip4(), PEER_PORT), "open before any policy");
        // egress enforced, nothing allowed: the host cannot connect out, but answers an allowed client
        dp.upsertEndpoint(host(true, true), List.of(entry(Direction.INGRESS, WORLD, ALLOWED, PolicyAction.ALLOW, 7)));
        assertFalse(lab.connectsFromHost(peer.ip4(), PEER_PORT), "the host's own connection out is judged");
        DatapathEvent d = events.await("host egress drop", e -> e.endpointId() == EP_HOST && e.type().equals("drop")
                && e.dstPort() == PEER_PORT);
        assertEquals("EGRESS", d.direction());
        assertTrue(lab.connects(peer, hostIp, ALLOWED), "replies of an allowed connection leave with egress enforced");

        dp.upsertEndpoint(host(true, true), List.of(entry(Direction.INGRESS, WORLD, ALLOWED, PolicyAction.ALLOW, 7),
                entry(Direction.EGRESS, WORLD, PEER_PORT, PolicyAction.ALLOW, 9)));
        assertTrue(lab.connectsFromHost(peer.ip4(), PEER_PORT), "allowed out");
    }

    @Test
    void trafficNotToOrFromTheHostsAddressesIsNotJudgedHere() throws Exception {
        // the peer's packets to an address the ipcache does not give the host identity: forwarded traffic, which
        // the endpoints' own programs judge; the host firewall lets it by even with everything enforced
        dp.syncIpcache(List.of());
        try {
            dp.upsertEndpoint(host(true, true), List.of());
            assertTrue(lab.connects(peer, hostIp, CLOSED), "not a host address: not judged by the host firewall");
        } finally {
            dp.syncIpcache(List.of(new IpcacheEntry(hostIp + "/32", HOST, "host")));
        }
        assertFalse(lab.connects(peer, hostIp, CLOSED), "a host address again: judged");
    }

    @Test
    void theHostsLinkLocalAddressIsTheHostsWithoutAnIpcacheEntry() throws Exception {
        assertTrue(lab.connects(peer, lab.hostSideLinkLocal(), CLOSED), "open before any policy");
        dp.upsertEndpoint(host(true, false), List.of(entry(Direction.INGRESS, WORLD, ALLOWED, PolicyAction.ALLOW, 7)));
        assertFalse(lab.connects(peer, lab.hostSideLinkLocal(), CLOSED), "link-local: only the host takes it, judged");
    }

    @Test
    void removingTheHostEndpointDetachesAndOpens() throws Exception {
        dp.upsertEndpoint(host(true, true), List.of());
        assertFalse(lab.connects(peer, hostIp, ALLOWED));
        dp.removeEndpoint(EP_HOST);
        assertFalse(dp.isAttached(peer.ifindex(), true) || dp.isAttached(peer.ifindex(), false));
        assertTrue(lab.connects(peer, hostIp, ALLOWED));
    }
}
