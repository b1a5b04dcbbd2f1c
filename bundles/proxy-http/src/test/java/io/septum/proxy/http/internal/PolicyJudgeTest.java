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

    /**
     * An egress HTTP rule on a named port towards a server of another node: the name resolves on the server's
     * identity's ports (the cluster's store brings them), so the rule governs that connection. Without them the proxy
     * found no HTTP rule for the path and let every request through.
     */
    @Test
    void egressRuleOnANamedPortGovernsAServerOfAnotherNode() throws Exception {
        PolicyEngine engine = ServiceLoader.load(PolicyEngine.class).findFirst().orElseThrow();
        current.set(engine.parse("np.yaml", """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: client-to-web}
                spec:
                  endpointSelector: {matchLabels: {class: tiefighter}}
                  egress:
                  - toEndpoints: [{matchLabels: {app: web}}]
                    toPorts:
                    - ports: [{port: http, protocol: TCP}]
                      rules:
                        http: [{method: GET, path: "/public/.*"}]
                """));
        io.septum.api.Identity web = new io.septum.api.Identity(300, List.of("k8s:app=web",
                "k8s:io.kubernetes.pod.namespace=default"), false);
        io.septum.api.IdentityAllocator ids = new io.septum.api.IdentityAllocator() {
            public io.septum.api.Identity allocate(io.septum.api.Labels labels) {
                throw new UnsupportedOperationException();
            }

            public void release(long id) {
            }

            public java.util.Optional<io.septum.api.Identity> get(long id) {
                return id == web.id() ? java.util.Optional.of(web) : java.util.Optional.empty();
            }

            public java.util.Optional<io.septum.api.Identity> lookup(io.septum.api.Labels labels) {
                return java.util.Optional.empty();
            }

            public List<io.septum.api.Identity> list() {
                return List.of(web);
            }
        };
        List<IpcacheEntry> ipcache = List.of(new IpcacheEntry("10.199.2.5/32", 300, "kvstore:node-2"));
        Map<Long, List<io.septum.api.NamedPort>> ports = Map.of(300L, List.of(new io.septum.api.NamedPort("http", 8080, "TCP")));
        InetSocketAddress client = new InetSocketAddress(InetAddress.getByName("10.199.1.3"), 40000);
        InetSocketAddress server = new InetSocketAddress(InetAddress.getByName("10.199.2.5"), 8080);

        io.septum.api.EndpointSnapshot withPorts = new io.septum.api.EndpointSnapshot(1, endpoints, ipcache, ports, null);
        Judge.ConnectionJudge c = new PolicyJudge(() -> index(withPorts), () -> ids, () -> repo).connection(client, server);
        assertTrue(c.decide(HttpRequestInfo.of("GET", "/public/a")).allowed());
        Judge.Verdict denied = c.decide(HttpRequestInfo.of("GET", "/private"));
        assertFalse(denied.allowed(), denied.toString());
        assertEquals("default/client-to-web", c.decide(HttpRequestInfo.of("GET", "/public/b")).policy());

        // the ports reach the index after the connection opened (a pass publishes them): the connection's next
        // request is judged with them
        AtomicReference<io.septum.api.EndpointSnapshot> published = new AtomicReference<>(
                new io.septum.api.EndpointSnapshot(1, endpoints, ipcache, Map.of(), null));
        io.septum.api.EndpointIndex moving = new io.septum.api.EndpointIndex() {
            public io.septum.api.EndpointSnapshot snapshot() {
                return published.get();
            }

            public void addListener(io.septum.api.EndpointListener l) {
            }

            public void removeListener(io.septum.api.EndpointListener l) {
            }
        };
        Judge.ConnectionJudge early = new PolicyJudge(() -> moving, () -> ids, () -> repo).connection(client, server);
        assertTrue(early.decide(HttpRequestInfo.of("GET", "/private")).allowed(), "no name known yet: no HTTP rule");
        published.set(new io.septum.api.EndpointSnapshot(2, endpoints, ipcache, ports, published.get()));
        assertFalse(early.decide(HttpRequestInfo.of("GET", "/private")).allowed(), "the same connection, now judged");

        // another number of that server is not its "http": no HTTP rule governs it (nor does the datapath open it)
        Judge.ConnectionJudge other = new PolicyJudge(() -> index(withPorts), () -> ids, () -> repo).connection(client,
                new InetSocketAddress(server.getAddress(), 9090));
        assertTrue(other.decide(HttpRequestInfo.of("GET", "/private")).allowed());
    }

    private static io.septum.api.EndpointIndex index(io.septum.api.EndpointSnapshot snap) {
        return new io.septum.api.EndpointIndex() {
            public io.septum.api.EndpointSnapshot snapshot() {
                return snap;
            }

            public void addListener(io.septum.api.EndpointListener l) {
            }

            public void removeListener(io.septum.api.EndpointListener l) {
            }
        };
    }

    @Test
    void withoutAPolicyRepositoryEveryRequestIsDenied() throws Exception {
        PolicyJudge judge = new PolicyJudge(() -> em, () -> null, () -> null);
        Judge.ConnectionJudge c = judge.connection(new InetSocketAddress(InetAddress.getByName("10.199.1.3"), 40000),
                new InetSocketAddress(InetAddress.getByName("10.199.1.1"), 80));
        assertFalse(c.decide(HttpRequestInfo.of("POST", "/v1/request-landing")).allowed());
    }
}
