package io.septum.observer.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.septum.api.Endpoint;
import io.septum.api.EndpointState;
import io.septum.api.Identity;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.flow.Flow;
import io.septum.api.policy.RuleRef;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EnricherTest {
    static Endpoint ep(long id, String name, long identity, String ip, String... labels) {
        return new Endpoint(id, name, "default", "netns", List.of(labels), identity, EndpointState.READY, List.of(ip),
                "sept-t" + id, (int) id + 100, null, false, false, Map.of(), 1, null);
    }

    static final Endpoint DEATHSTAR = ep(1, "deathstar-1", 256, "10.199.16.1", "k8s:io.kubernetes.pod.namespace=default", "netns:class=deathstar");
    static final Endpoint TIEFIGHTER = ep(3, "tiefighter", 257, "10.199.16.3", "k8s:io.kubernetes.pod.namespace=default", "netns:class=tiefighter");

    static final class Fake implements Enricher.Lookup {
        final List<Endpoint> endpoints = new ArrayList<>(List.of(DEATHSTAR, TIEFIGHTER));
        final Map<Integer, RuleRef> rules = Map.of(468487873, new RuleRef(468487873, "default/rule1", "ingress", 0, false),
                77, new RuleRef(77, "default/any-port", "ingress", 0, false));
        final List<BpfPolicyEntry> policy = List.of(
                new BpfPolicyEntry("INGRESS", 257, "TCP", "80", "ALLOW", 468487873, 3),
                new BpfPolicyEntry("INGRESS", 0, "ANY", "*", "ALLOW", 77, 1));
        int endpointCalls;
        /** When set, the snapshot every call answers (as the endpoint index does until something changes). */
        io.septum.api.EndpointSnapshot current;

        @Override
        public io.septum.api.EndpointSnapshot endpoints() {
            endpointCalls++;
            if (current != null) return current;
            return new io.septum.api.EndpointSnapshot(endpointCalls, endpoints, List.of());
        }

        @Override
        public Optional<Identity> identity(long id) {
            if (id == 2) return Optional.of(new Identity(2, List.of("reserved:world"), true));
            return Optional.empty();
        }

        @Override
        public Optional<RuleRef> rule(int id) {
            return Optional.ofNullable(rules.get(id));
        }

        @Override
        public List<BpfPolicyEntry> policy(long endpointId) {
            return endpointId == 1 ? policy : List.of();
        }
    }

    static DatapathEvent event(String type, String verdict, int reason, String src, long srcId, int sport, String dst,
                               long dstId, int dport, int rule, long ep, String dir) {
        return new DatapathEvent(1_700_000_000_123_000_000L, type, ep, dir, verdict, reason, src, sport, srcId, dst, dport,
                dstId, "TCP", rule, 2, false, 100);
    }

    @Test
    void anAllowedConnectionNamesBothSidesTheRuleAndItsMatchType() {
        Enricher en = new Enricher(new Fake(), 1_000_000_000L);
        Flow f = en.enrich(event("policy-verdict", "FORWARDED", 0, "10.199.16.3", 257, 43256, "10.199.16.1", 256, 80,
                468487873, 1, "INGRESS"));
        assertEquals("default/tiefighter", f.source().qualifiedName());
        assertEquals(3, f.source().id());
        assertEquals(List.of("k8s:io.kubernetes.pod.namespace=default", "netns:class=tiefighter"), f.source().labels());
        assertEquals("default/deathstar-1", f.destination().qualifiedName());
        assertEquals(256, f.destination().identity());
        assertEquals("default/rule1", f.policy());
        assertEquals("default/rule1 ingress[0]", f.rule());
        assertEquals(Flow.MATCH_L3_L4, f.policyMatchType());
        assertEquals(Flow.TO_ENDPOINT, f.observationPoint());
        assertEquals("INGRESS", f.trafficDirection());
        assertEquals(List.of("SYN"), f.l4().flags());
        assertEquals("IPv4", f.ip().ipVersion());
        assertNull(f.dropReasonDesc());
        assertEquals("2023-11-14T22:13:20.123Z", f.time());
    }

    @Test
    void anAddressIsResolvedAgainWhenTheSnapshotChangesAndTheFlowCarriesTheNodeName() {
        Endpoint xwing = ep(4, "xwing", 258, "10.199.16.3", "k8s:io.kubernetes.pod.namespace=default", "netns:class=xwing");
        Endpoint outpost = ep(5, "outpost", 259, "10.199.16.9", "k8s:io.kubernetes.pod.namespace=default");
        Fake fake = new Fake();
        fake.current = new io.septum.api.EndpointSnapshot(1, List.of(DEATHSTAR, TIEFIGHTER), List.of());
        Enricher en = new Enricher(fake, 1_000_000_000L);
        DatapathEvent fromTiefighterAddress = event("policy-verdict", "FORWARDED", 0, "10.199.16.3", 257, 1, "10.199.16.1",
                256, 80, 468487873, 1, "INGRESS");
        DatapathEvent fromOutpostAddress = event("drop", "DROPPED", 133, "10.199.16.9", 2, 1, "10.199.16.1", 256, 80, 0, 1,
                "INGRESS");
        for (int i = 0; i < 2; i++) {
            assertEquals("default/tiefighter", en.enrich(fromTiefighterAddress).source().qualifiedName());
            assertNull(en.enrich(fromOutpostAddress).source().name(), "no endpoint has the address yet");
        }
        // the address moves to another endpoint, and an unknown one becomes an endpoint's: the next snapshot says so
        fake.current = new io.septum.api.EndpointSnapshot(2, List.of(DEATHSTAR, xwing, outpost), List.of());
        assertEquals("default/xwing", en.enrich(fromTiefighterAddress).source().qualifiedName());
        assertEquals("default/outpost", en.enrich(fromOutpostAddress).source().qualifiedName());

        assertNull(en.enrich(fromOutpostAddress).nodeName());
        Flow named = en.enrich(fromOutpostAddress, "node-1");
        assertEquals("node-1", named.nodeName());
        assertEquals(en.enrich(fromOutpostAddress).withNodeName("node-1"), named);
    }

    @Test
    void aWildcardRuleIsMatchTypeAll() {
        Enricher en = new Enricher(new Fake(), 1_000_000_000L);
        Flow f = en.enrich(event("policy-verdict", "FORWARDED", 0, "10.199.16.3", 257, 1, "10.199.16.1", 256, 9,
                77, 1, "INGRESS"));
        assertEquals(Flow.MATCH_ALL, f.policyMatchType());
    }

    @Test
    void aDropFromOutsideSaysWhyAndNamesTheWorld() {
        Enricher en = new Enricher(new Fake(), 1_000_000_000L);
        Flow f = en.enrich(event("drop", "DROPPED", 133, "192.0.2.9", 2, 5555, "10.199.16.1", 256, 443, 0, 1, "INGRESS"));
        assertNull(f.source().name());
        assertEquals(0, f.source().id());
        assertEquals(List.of("reserved:world"), f.source().labels());
        assertEquals("default/deathstar-1", f.destination().qualifiedName());
        assertEquals(133, f.dropReason());
        assertEquals("POLICY_DENIED", f.dropReasonDesc());
        assertEquals("Policy denied", f.dropReasonText());
        assertEquals("default deny: no rule allows", f.rule());
        assertEquals(Flow.MATCH_NONE, f.policyMatchType());
        assertEquals("drop", f.eventType());
    }

    @Test
    void egressIsSeenFromTheEndpointAndAnEndpointAddedLaterIsNamedByTheNextSnapshot() throws Exception {
        Fake fake = new Fake();
        Enricher en = new Enricher(fake, 60_000_000_000L);
        en.enrich(event("policy-verdict", "FORWARDED", 0, "10.199.16.3", 257, 1, "10.199.16.1", 256, 80, 0, 3, "EGRESS"));
        fake.endpoints.add(ep(9, "xwing", 258, "10.199.16.4", "netns:class=xwing"));
        Flow f = en.enrich(event("drop", "DROPPED", 133, "10.199.16.4", 258, 4444, "10.199.16.3", 257, 80, 0, 9, "EGRESS"));
        assertEquals("default/xwing", f.source().qualifiedName());
        assertEquals(Flow.FROM_ENDPOINT, f.observationPoint());
        assertEquals("default/tiefighter", f.destination().qualifiedName());
    }

    @Test
    void aLookupThatFailsLeavesNamesOutButKeepsTheFlow() {
        Enricher en = new Enricher(new Enricher.Lookup() {
            @Override
            public io.septum.api.EndpointSnapshot endpoints() {
                throw new IllegalStateException("endpoint manager gone");
            }

            @Override
            public Optional<Identity> identity(long id) {
                throw new IllegalStateException("gone");
            }

            @Override
            public Optional<RuleRef> rule(int id) {
                throw new IllegalStateException("gone");
            }

            @Override
            public List<BpfPolicyEntry> policy(long endpointId) {
                throw new IllegalStateException("gone");
            }
        }, 1_000_000_000L);
        Flow f = en.enrich(event("policy-verdict", "FORWARDED", 0, "10.199.16.3", 257, 1, "10.199.16.1", 256, 80, 5, 1, "INGRESS"));
        assertNull(f.source().name());
        assertEquals(1, f.destination().id());
        assertEquals(257, f.source().identity());
        assertEquals(5, f.ruleId());
    }
}
