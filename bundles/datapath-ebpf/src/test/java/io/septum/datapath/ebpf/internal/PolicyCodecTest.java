package io.septum.datapath.ebpf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.policy.Direction;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.Protocol;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyCodecTest {
    @Test
    void portRangeSplitsIntoAlignedPrefixes() {
        List<int[]> p = PolicyCodec.portPrefixes(8000, 8100);
        int covered = 0, next = 8000;
        for (int[] pp : p) {
            assertEquals(next, pp[0], "contiguous");
            int span = 1 << (16 - pp[1]);
            assertEquals(0, pp[0] % span, "aligned");
            next += span;
            covered += span;
        }
        assertEquals(101, covered);
        assertEquals(List.of("8000/10", "8064/11", "8096/14", "8100/16"),
                p.stream().map(a -> a[0] + "/" + a[1]).toList());
        assertEquals(1, PolicyCodec.portPrefixes(0, 65535).size());
        assertEquals(16, PolicyCodec.portPrefixes(80, 80).get(0)[1]);
    }

    @Test
    void anyProtocolWithoutPortIsOneWholeIdentityEntry() {
        Map<PolicyCodec.Key, PolicyCodec.Value> m = PolicyCodec.compile(7, List.of(
                new PolicyEntry(Direction.INGRESS, 300, Protocol.ANY, 0, 0, PolicyAction.ALLOW, 1)));
        assertEquals(1, m.size());
        assertEquals(PolicyCodec.PREFIX_ANY_PROTO, m.keySet().iterator().next().prefixlen());
    }

    @Test
    void anIcmpTypeIsAnExactPortEvenTypeZero() {
        Map<PolicyCodec.Key, PolicyCodec.Value> m = PolicyCodec.compile(7, List.of(
                new PolicyEntry(Direction.INGRESS, 300, Protocol.ICMP, 0, 0, PolicyAction.ALLOW, 1),
                new PolicyEntry(Direction.INGRESS, 300, Protocol.ICMPV6, 128, 128, PolicyAction.ALLOW, 1)));
        assertEquals(List.of("1:0/96", "58:128/96"), m.keySet().stream()
                .map(k -> k.proto() + ":" + k.port() + "/" + k.prefixlen()).sorted().toList());
    }

    @Test
    void anyProtocolWithPortMeansTcpUdpSctp() {
        Map<PolicyCodec.Key, PolicyCodec.Value> m = PolicyCodec.compile(7, List.of(
                new PolicyEntry(Direction.EGRESS, 0, Protocol.ANY, 53, 53, PolicyAction.ALLOW, 1)));
        assertEquals(List.of(6, 17, 132), m.keySet().stream().map(PolicyCodec.Key::proto).toList());
    }

    @Test
    void aBroaderDenyOfTheSameIdentityTurnsACoveredAllowIntoADeny() {
        Map<PolicyCodec.Key, PolicyCodec.Value> m = PolicyCodec.compile(7, List.of(
                new PolicyEntry(Direction.INGRESS, 300, Protocol.TCP, 80, 80, PolicyAction.ALLOW, 1),
                new PolicyEntry(Direction.INGRESS, 300, Protocol.TCP, 8080, 8080, PolicyAction.ALLOW, 3),
                new PolicyEntry(Direction.INGRESS, 301, Protocol.TCP, 80, 80, PolicyAction.ALLOW, 4),
                new PolicyEntry(Direction.INGRESS, 300, Protocol.TCP, 0, 0, PolicyAction.DENY, 2),
                new PolicyEntry(Direction.EGRESS, 300, Protocol.TCP, 80, 80, PolicyAction.ALLOW, 5)));
        for (Map.Entry<PolicyCodec.Key, PolicyCodec.Value> e : m.entrySet()) {
            PolicyCodec.Key k = e.getKey();
            boolean covered = k.identity() == 300 && k.dir() == PolicyCodec.DIR_INGRESS;
            assertEquals(covered ? PolicyCodec.ACTION_DENY : PolicyCodec.ACTION_ALLOW, e.getValue().action(), k.toString());
            if (covered) assertEquals(2, e.getValue().ruleId());
        }
        assertEquals(5, m.size());
    }

    @Test
    void aNarrowerDenyStaysNextToTheBroaderAllow() {
        Map<PolicyCodec.Key, PolicyCodec.Value> m = PolicyCodec.compile(7, List.of(
                new PolicyEntry(Direction.INGRESS, 300, Protocol.TCP, 8000, 8100, PolicyAction.ALLOW, 1),
                new PolicyEntry(Direction.INGRESS, 300, Protocol.TCP, 8050, 8050, PolicyAction.DENY, 2)));
        long denies = m.values().stream().filter(v -> v.action() == PolicyCodec.ACTION_DENY).count();
        assertEquals(1, denies);
        assertTrue(m.values().stream().anyMatch(v -> v.action() == PolicyCodec.ACTION_ALLOW));
    }

    @Test
    void sameKeyDenyWinsWhateverTheOrder() {
        PolicyEntry allow = new PolicyEntry(Direction.INGRESS, 0, Protocol.UDP, 53, 53, PolicyAction.ALLOW, 1);
        PolicyEntry deny = new PolicyEntry(Direction.INGRESS, 0, Protocol.UDP, 53, 53, PolicyAction.DENY, 2);
        assertEquals(PolicyCodec.compile(1, List.of(allow, deny)), PolicyCodec.compile(1, List.of(deny, allow)));
        assertEquals(PolicyCodec.ACTION_DENY, PolicyCodec.compile(1, List.of(allow, deny)).values().iterator().next().action());
    }

    @Test
    void ipsRoundTrip() {
        Ips.Prefix p = Ips.parsePrefix("10.199.1.7/16");
        assertEquals(112, p.prefixlen());
        assertEquals("10.199.0.0/16", Ips.formatPrefix(p.addr(), p.prefixlen()));
        Ips.Prefix q = Ips.parsePrefix("fd00:199::1");
        assertEquals("fd00:199::1/128", Ips.formatPrefix(q.addr(), q.prefixlen()));
        assertEquals("::/0", Ips.formatPrefix(Ips.parsePrefix("::/0").addr(), 0));
    }
}
