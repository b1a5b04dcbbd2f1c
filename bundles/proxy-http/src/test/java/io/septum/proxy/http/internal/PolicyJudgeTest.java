package io.septum.proxy.http.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Endpoint;
import io.septum.api.EndpointSpec;
import io.septum.api.EndpointState;
import io.septum.api.IpcacheEntry;
import io.septum.api.SourceHealth;
import io.septum.api.policy.HttpRequestInfo;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyRepository;
import io.septum.api.policy.PolicySet;
import io.septum.testsupport.StubPolicyRepository;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The agent's judge with the real policy engine and the shipped sw_l3_l4_l7_policy.yaml. */
class PolicyJudgeTest {
    static Endpoint ep(long id, String name, String ip, long identity, String... labels) {
        return new Endpoint(id, name, "default", "netns", List.of(labels), identity, EndpointState.READY, List.of(ip + "/32"),
                "veth" + id, (int) id, null, false, false, Map.of(), 1, null);
    }

    final List<Endpoint> endpoints = List.of(
            ep(1, "deathstar", "10.199.1.1", 256, "netns:org=empire", "netns:class=deathstar", "k8s:io.kubernetes.pod.namespace=default"),
            ep(3, "tiefighter", "10.199.1.3", 257, "netns:org=empire", "netns:class=tiefighter", "k8s:io.kubernetes.pod.namespace=default"));

    final io.septum.api.EndpointIndex em = new io.septum.api.EndpointIndex() {
        public io.septum.api.EndpointSnapshot snapshot() {
            return new io.septum.api.EndpointSnapshot(1, endpoints, List.of());
        }

        public void addListener(io.septum.api.EndpointListener l) {
        }

        public void removeListener(io.septum.api.EndpointListener l) {
        }
    };

    final AtomicReference<PolicySet> current = new AtomicReference<>();
    final AtomicLong revision = new AtomicLong(1);
    final PolicyRepository repo = new StubPolicyRepository() {
        public long revision() {
            return revision.get();
        }

        public PolicySet current() {
            return current.get();
        }
    };

    @Test
    void starWarsRuleAdmitsOnlyTheLandingRequestAndFollowsPolicyChanges() throws Exception {
        PolicyEngine engine = ServiceLoader.load(PolicyEngine.class).findFirst().orElseThrow();
        Path yaml = Path.of("../../examples/starwars/sw_l3_l4_l7_policy.yaml");
        current.set(engine.parse(yaml.toString(), Files.readString(yaml)));
        PolicyJudge judge = new PolicyJudge(() -> em, () -> null, () -> repo);
        Judge.ConnectionJudge c = judge.connection(new InetSocketAddress(InetAddress.getByName("10.199.1.3"), 40000),
                new InetSocketAddress(InetAddress.getByName("10.199.1.1"), 80));
        assertEquals("tiefighter", c.client().name());
        assertEquals("deathstar", c.server().name());
        assertEquals(1, c.endpointId());
        assertTrue(c.decide(HttpRequestInfo.of("POST", "/v1/request-landing")).allowed());
        Judge.Verdict put = c.decide(HttpRequestInfo.of("PUT", "/v1/exhaust-port"));
        assertFalse(put.allowed(), put.toString());
        assertFalse(c.decide(HttpRequestInfo.of("POST", "/v1/request-landing/x")).allowed(), "the path regex is anchored");

        // the policy goes: the next request of the same connection is judged by the new (empty) set
        current.set(engine.empty());
        revision.incrementAndGet();
        assertTrue(c.decide(HttpRequestInfo.of("PUT", "/v1/exhaust-port")).allowed());
    }

    @Test
    void withoutAPolicyRepositoryEveryRequestIsDenied() throws Exception {
        PolicyJudge judge = new PolicyJudge(() -> em, () -> null, () -> null);
        Judge.ConnectionJudge c = judge.connection(new InetSocketAddress(InetAddress.getByName("10.199.1.3"), 40000),
                new InetSocketAddress(InetAddress.getByName("10.199.1.1"), 80));
        assertFalse(c.decide(HttpRequestInfo.of("POST", "/v1/request-landing")).allowed());
    }
}
