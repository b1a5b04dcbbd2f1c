package io.septum.endpoints.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Identity;
import io.septum.api.ReservedIdentity;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.FailsafePort;
import io.septum.api.policy.Direction;
import io.septum.api.policy.EnforcementMode;
import io.septum.api.policy.Protocol;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The host endpoint as the regeneration pass pushes it (the fake datapath stands for the kernel here). */
class HostFirewallTest {
    final Fakes.FakeDatapath datapath = new Fakes.FakeDatapath();
    final Fakes.Host host = new Fakes.Host();
    final Fakes.Policies policies = new Fakes.Policies();
    final HostFirewall firewall = new HostFirewall(datapath, host);
    final List<Identity> universe = Arrays.stream(ReservedIdentity.values()).map(ReservedIdentity::identity).toList();
    static final List<FailsafePort> SSH = List.of(new FailsafePort(Direction.INGRESS, Protocol.TCP, 22));

    boolean push(HostFirewall.Settings s) {
        return firewall.push(s, policies, EnforcementMode.DEFAULT, universe, Map.of(), host.hostAddresses(), Set.of());
    }

    @Test
    void offByDefaultTouchesNothing() {
        assertFalse(push(HostFirewall.Settings.OFF));
        assertTrue(datapath.calls.isEmpty(), datapath.calls.toString());
        assertNull(firewall.summary());
    }

    @Test
    void eachInterfaceGetsTheHostsPolicyAfterTheFailsafePorts() {
        host.ifindexes.put("eth0", 2);
        host.ifindexes.put("eth1", 3);
        policies.rules.add(new Fakes.Rule("reserved:host", Direction.INGRESS, "reserved:world", 80, 5));
        HostFirewall.Settings s = new HostFirewall.Settings(List.of("eth0", "eth1"), Map.of("node-access", "ssh"), SSH);
        assertFalse(push(s));
        assertEquals(List.of("failsafe 1", "upsert " + HostFirewall.FIRST_ID, "upsert " + (HostFirewall.FIRST_ID + 1)),
                datapath.calls);
        DatapathEndpoint eth0 = datapath.endpoints.get(HostFirewall.FIRST_ID);
        assertTrue(eth0.host());
        assertEquals(ReservedIdentity.HOST.id(), eth0.identity());
        assertEquals(2, eth0.ifindex());
        assertTrue(eth0.ingressEnforced());
        assertFalse(eth0.egressEnforced());
        assertEquals(1, datapath.policy.get(HostFirewall.FIRST_ID).size());
        assertEquals(80, datapath.policy.get(HostFirewall.FIRST_ID).get(0).port());
        assertEquals("host firewall on eth0, eth1", firewall.summary());
        assertTrue(policies.ownPorts.keySet().stream().anyMatch(l -> l.contains("k8s:node-access=ssh")),
                "the node's labels are the host endpoint's: " + policies.ownPorts.keySet());

        // nothing changed: nothing written
        datapath.calls.clear();
        assertFalse(push(s));
        assertTrue(datapath.calls.isEmpty(), datapath.calls.toString());

        // eth1 leaves the configuration: its programs go, eth0 keeps its id
        assertFalse(push(new HostFirewall.Settings(List.of("eth0"), Map.of(), SSH)));
        assertTrue(datapath.calls.contains("remove " + (HostFirewall.FIRST_ID + 1)), datapath.calls.toString());
        assertEquals(List.of(HostFirewall.FIRST_ID), List.copyOf(datapath.endpoints.keySet()));
    }

    @Test
    void aMissingInterfaceIsReportedAndRetried() {
        HostFirewall.Settings s = new HostFirewall.Settings(List.of("eth9"), Map.of(), SSH);
        assertTrue(push(s), "retry");
        assertNotNull(firewall.error());
        assertTrue(firewall.error().contains("eth9"), firewall.error());
        host.ifindexes.put("eth9", 9);
        assertFalse(push(s));
        assertNull(firewall.error());
    }

    @Test
    void whatAPreviousAgentLeftIsKeptWhileConfiguredAndRemovedOtherwise() {
        BpfEndpoint olderAgentsEndpoint = new BpfEndpoint(8, HostFirewall.FIRST_ID, 300, 1, "lxc-old");
        firewall.restored(List.of(new BpfEndpoint(2, HostFirewall.FIRST_ID + 4, 1, BpfEndpoint.FLAG_HOST, "eth0"),
                new BpfEndpoint(3, HostFirewall.FIRST_ID + 5, 1, BpfEndpoint.FLAG_HOST, "eth1"),
                new BpfEndpoint(7, 12, 300, 0, "lxc12"), olderAgentsEndpoint));
        host.ifindexes.put("eth0", 2);
        host.ifindexes.put("eth2", 4);
        // an older agent handed out ids up to 65535: its endpoint keeps FIRST_ID, which the new eth2 must not take
        assertFalse(firewall.push(new HostFirewall.Settings(List.of("eth0", "eth2"), Map.of(), SSH), policies,
                EnforcementMode.DEFAULT, universe, Map.of(), host.hostAddresses(), Set.of(HostFirewall.FIRST_ID)));
        assertTrue(datapath.calls.contains("upsert " + (HostFirewall.FIRST_ID + 4)), "eth0 keeps its id: " + datapath.calls);
        assertTrue(datapath.calls.contains("remove " + (HostFirewall.FIRST_ID + 5)), datapath.calls.toString());
        assertFalse(datapath.calls.contains("remove 12"), "an endpoint's id is not the host firewall's");
        assertFalse(datapath.calls.contains("remove " + HostFirewall.FIRST_ID), "nor is an older agent's endpoint in the range");
        assertTrue(datapath.calls.contains("upsert " + (HostFirewall.FIRST_ID + 1)), "eth2 takes the next free id: " + datapath.calls);
        assertTrue(HostFirewall.isHost(new BpfEndpoint(2, 1, 1, BpfEndpoint.FLAG_HOST, "eth0")));
        assertFalse(HostFirewall.isHost(olderAgentsEndpoint));
    }

    @Test
    void withoutTheHostsAddressesNothingIsPushed() {
        host.ifindexes.put("eth0", 2);
        assertTrue(firewall.push(new HostFirewall.Settings(List.of("eth0"), Map.of(), SSH), policies,
                EnforcementMode.DEFAULT, universe, Map.of(), List.of(), Set.of()), "retried");
        assertTrue(datapath.calls.isEmpty(), datapath.calls.toString());
        assertTrue(firewall.error().contains("addresses"), firewall.error());
    }

    @Test
    void configIsCheckedWithTheKeyAndReason() {
        HostFirewall.Settings s = EndpointManagerComponent.hostFirewall(config(new String[] {"eth0, eth1", "eth0"},
                new String[] {"node-access=ssh"}, new String[] {"tcp:22,udp:68"}, new String[] {"53"}));
        assertEquals(List.of("eth0", "eth1"), s.interfaces());
        assertEquals(Map.of("node-access", "ssh"), s.nodeLabels());
        assertEquals(List.of(new FailsafePort(Direction.INGRESS, Protocol.TCP, 22),
                new FailsafePort(Direction.INGRESS, Protocol.UDP, 68),
                new FailsafePort(Direction.EGRESS, Protocol.TCP, 53)), s.failsafe());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> EndpointManagerComponent
                .hostFirewall(config(new String[] {}, new String[] {}, new String[] {"icmp:8"}, new String[] {})));
        assertTrue(bad.getMessage().contains("io.septum.endpoints") && bad.getMessage().contains("icmp:8"), bad.getMessage());
        bad = assertThrows(IllegalArgumentException.class, () -> EndpointManagerComponent
                .hostFirewall(config(new String[] {"../x"}, new String[] {}, new String[] {}, new String[] {})));
        assertTrue(bad.getMessage().contains("hostInterfaces"), bad.getMessage());
        bad = assertThrows(IllegalArgumentException.class, () -> EndpointManagerComponent
                .hostFirewall(config(new String[] {}, new String[] {"a=b c"}, new String[] {}, new String[] {})));
        assertTrue(bad.getMessage().contains("nodeLabels"), bad.getMessage());
    }

    private static Config config(String[] interfaces, String[] labels, String[] in, String[] out) {
        return new Config() {
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return Config.class;
            }

            public int disconnectGraceSeconds() {
                return 30;
            }

            public int retrySeconds() {
                return 2;
            }

            public String[] hostInterfaces() {
                return interfaces;
            }

            public String[] nodeLabels() {
                return labels;
            }

            public String[] failsafeInboundHostPorts() {
                return in;
            }

            public String[] failsafeOutboundHostPorts() {
                return out;
            }
        };
    }
}
