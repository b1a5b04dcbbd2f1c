package io.septum.source.kubernetes.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.septum.api.EndpointSpec;
import io.septum.api.SourceHealth;
import io.septum.api.policy.PolicyOffer;
import io.septum.api.policy.PolicySink;
import io.septum.api.policy.PolicyValidationException;
import io.septum.api.policy.ValidationError;
import io.septum.testsupport.Await;
import io.septum.testsupport.RecordingSink;
import io.septum.testsupport.TestFiles;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The source against fabric8's mock API server in CRUD mode with real informers (a real API server cannot be had
 * on the test machines), with pods backed by real network namespaces and veths this test creates.
 */
class KubernetesSourceTest {
    private static final String NODE = "sept-node";
    private final String id = Integer.toHexString(0x1000 + new SecureRandom().nextInt(0xe000));
    private final int subnet = 1 + Integer.parseInt(id, 16) % 250;
    private final List<String> netns = new ArrayList<>();
    private final List<KubernetesMockServer> servers = new ArrayList<>();
    private Path dir;

    private final RecordingSink sink = RecordingSink.withNamespaces();
    private final Map<String, EndpointSpec> endpoints = sink.specs();
    private final List<SourceHealth> health = sink.health();
    private final Map<String, Map<String, String>> nsLabels = sink.namespaceLabels();
    private final Map<String, String> policies = new ConcurrentHashMap<>();
    private final Map<String, PolicyOffer> offers = new ConcurrentHashMap<>();
    /** The name of a policy object the fake policy sink refuses, as the policy bundle refuses an invalid one. */
    private static final String REFUSED = "refused";

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory("sept-t-k8s");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (KubernetesMockServer s : servers) s.destroy();
        for (String n : netns) run("ip", "netns", "del", n);
        for (int i = 1; i <= netns.size(); i++) {
            // deleting the namespace already takes its veth away, asynchronously: the link may vanish between the
            // check and the delete, which is the outcome wanted
            if (Files.exists(Path.of("/sys/class/net/stk" + id + i))) {
                try {
                    run("ip", "link", "del", "stk" + id + i);
                } catch (IOException e) {
                    if (Files.exists(Path.of("/sys/class/net/stk" + id + i))) throw e;
                }
            }
        }
        TestFiles.deleteTree(dir);
    }

    @Test
    void podsBecomeEndpointsAndALostWatchResyncs() throws Exception {
        KubernetesCrudDispatcher state1 = new KubernetesCrudDispatcher(List.of());
        KubernetesMockServer server = server(state1, 0);
        int port = server.getPort();
        KubernetesClient api = server.createClient();
        String ipA = pod(1);
        String ipB = pod(2);
        api.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("prod")
                .addToLabels("team", "a").endMetadata().build()).create();
        api.pods().inNamespace("prod").resource(pod("web", "prod", ipA, NODE)).create();
        // Another node's pod is not ours, whatever its address.
        api.pods().inNamespace("prod").resource(pod("elsewhere", "prod", ipB, "other-node")).create();
        api.genericKubernetesResources(PolicyKind.CNP.context()).inNamespace("prod").resource(cnp("early", "prod"))
                .create();

        KubernetesSource source = new KubernetesSource(new KubernetesSource.Settings(kubeconfig(port).toString(), NODE,
                Duration.ofSeconds(300), true, Duration.ofSeconds(1), false));
        source.open(sink);
        try {
            assertTrue(await(() -> endpoints.size() == 1 && connected()), "pod web reported: " + endpoints + health);
            assertTrue(policies.isEmpty(), "no policy sink is open yet: " + policies);
            // A policy sink that opens after the watches listed gets what they hold.
            source.policies().open(new Policies());
            assertTrue(await(() -> policies.containsKey("k8s:CiliumNetworkPolicy/prod/early")), "policy: " + policies);
            assertEquals("CiliumNetworkPolicy", offers.get("k8s:CiliumNetworkPolicy/prod/early").kind());
            assertEquals("prod", offers.get("k8s:CiliumNetworkPolicy/prod/early").namespace());
            EndpointSpec web = endpoints.values().iterator().next();
            assertEquals("web", web.name());
            assertEquals("prod", web.namespace());
            assertEquals("stk" + id + "1", web.interfaceName(), "found by the pod's network namespace");
            assertEquals(List.of(ipA), web.addresses());
            assertEquals("web", web.labels().get("app"));
            assertEquals("db-reader", web.labels().get(KubernetesSource.SERVICE_ACCOUNT_LABEL));
            assertEquals("web", web.externalIds().get(KubernetesSource.EXTERNAL_POD_NAME));
            assertTrue(await(() -> Map.of("team", "a").equals(nsLabels.get("prod"))), "namespace labels: " + nsLabels);

            // A label change is an update of the same endpoint.
            api.pods().inNamespace("prod").withName("web").edit(p -> new PodBuilder(p).editMetadata()
                    .addToLabels("app", "web2").endMetadata().build());
            assertTrue(await(() -> endpoints.values().stream().anyMatch(e -> "web2".equals(e.labels().get("app")))),
                    "label change reported: " + endpoints);

            // Policies: an applied object and its deletion.
            api.genericKubernetesResources(PolicyKind.CNP.context()).inNamespace("prod").resource(cnp("allow", "prod"))
                    .create();
            assertTrue(await(() -> policies.containsKey("k8s:CiliumNetworkPolicy/prod/allow")), "policy: " + policies);
            String doc = policies.get("k8s:CiliumNetworkPolicy/prod/allow");
            assertTrue(doc.contains("endpointSelector") && doc.contains("namespace: \"prod\"") || doc.contains("namespace: prod"), doc);
            assertTrue(!doc.contains("resourceVersion") && !doc.contains("uid"), "only what a user writes: " + doc);
            api.genericKubernetesResources(PolicyKind.CNP.context()).inNamespace("prod").withName("allow").delete();
            assertTrue(await(() -> !policies.containsKey("k8s:CiliumNetworkPolicy/prod/allow")), "policy deleted: " + policies);

            // A CiliumCIDRGroup (cluster-wide, cilium.io/v2alpha1) is offered as the document cidrGroupRef names.
            GenericKubernetesResource group = new GenericKubernetesResource();
            group.setApiVersion("cilium.io/v2alpha1");
            group.setKind("CiliumCIDRGroup");
            group.setMetadata(new ObjectMetaBuilder().withName("vpn").build());
            group.setAdditionalProperty("spec", Map.of("externalCIDRs", List.of("10.48.0.0/24")));
            api.genericKubernetesResources(PolicyKind.CCG.context()).resource(group).create();
            assertTrue(await(() -> policies.containsKey("k8s:CiliumCIDRGroup/vpn")), "group: " + policies);
            assertEquals("CiliumCIDRGroup", offers.get("k8s:CiliumCIDRGroup/vpn").kind());
            assertEquals("", offers.get("k8s:CiliumCIDRGroup/vpn").namespace(), "cluster-wide");
            String groupDoc = policies.get("k8s:CiliumCIDRGroup/vpn");
            assertTrue(groupDoc.contains("cilium.io/v2alpha1") && groupDoc.contains("10.48.0.0/24")
                    && !groupDoc.contains("namespace"), groupDoc);
            api.genericKubernetesResources(PolicyKind.CCG.context()).withName("vpn").delete();
            assertTrue(await(() -> !policies.containsKey("k8s:CiliumCIDRGroup/vpn")), "group deleted: " + policies);

            // An object the policy bundle refuses is reported on the object as a Warning event.
            api.genericKubernetesResources(PolicyKind.CNP.context()).inNamespace("prod").resource(cnp(REFUSED, "prod"))
                    .create();
            assertTrue(await(() -> api.v1().events().inNamespace("prod").list().getItems().stream()
                    .anyMatch(e -> "PolicyRejected".equals(e.getReason()) && REFUSED.equals(e.getInvolvedObject().getName())
                            && e.getMessage().contains("refused by the test"))),
                    "a PolicyRejected event: " + api.v1().events().inNamespace("prod").list().getItems());
            assertTrue(!policies.containsKey("k8s:CiliumNetworkPolicy/prod/" + REFUSED));

            // The API server goes away and comes back with another state: web is gone, "late" runs instead.
            KubernetesCrudDispatcher state2 = new KubernetesCrudDispatcher(List.of());
            KubernetesMockServer staging = server(state2, 0);
            KubernetesClient stagingApi = staging.createClient();
            stagingApi.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("prod")
                    .addToLabels("team", "b").endMetadata().build()).create();
            stagingApi.pods().inNamespace("prod").resource(pod("late", "prod", ipB, NODE)).create();
            staging.destroy();
            server.destroy();
            assertTrue(await(() -> !connected()), "the lost watch shows in health: " + health);
            server(state2, port);
            assertTrue(await(() -> connected() && endpoints.size() == 1
                            && endpoints.values().iterator().next().name().equals("late")),
                    "relisted after the watch came back: " + endpoints + health);
            assertEquals("stk" + id + "2", endpoints.values().iterator().next().interfaceName());
            assertTrue(await(() -> Map.of("team", "b").equals(nsLabels.get("prod"))), "namespace relabelled: " + nsLabels);
            assertTrue(await(() -> policies.isEmpty()), "the relist drops policies whose objects are gone: " + policies);
            assertTrue(source.health().state().equals("ok"), source.health().toString());
        } finally {
            source.close();
        }
    }

    private boolean connected() {
        return !health.isEmpty() && health.get(health.size() - 1).connected();
    }

    private KubernetesMockServer server(KubernetesCrudDispatcher dispatcher, int port) {
        KubernetesMockServer s = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                dispatcher, false);
        s.init(InetAddress.getLoopbackAddress(), port);
        servers.add(s);
        return s;
    }

    private Path kubeconfig(int port) throws IOException {
        Path f = dir.resolve("kubeconfig");
        Files.writeString(f, "apiVersion: v1\nkind: Config\n"
                + "clusters:\n- name: mock\n  cluster:\n    server: http://127.0.0.1:" + port + "\n"
                + "users:\n- name: septum\n  user:\n    token: test\n"
                + "contexts:\n- name: mock\n  context:\n    cluster: mock\n    user: septum\n"
                + "current-context: mock\n");
        return f;
    }

    /** A network namespace with a veth whose host end is {@code stk<id><n>}; returns the address inside. */
    private String pod(int n) throws Exception {
        String ns = "sept-tk" + id + "-" + n;
        String ip = "10.198." + subnet + "." + n;
        run("ip", "netns", "add", ns);
        netns.add(ns);
        run("ip", "link", "add", "stk" + id + n, "type", "veth", "peer", "name", "eth0", "netns", ns);
        run("ip", "link", "set", "stk" + id + n, "up");
        run("ip", "-n", ns, "addr", "add", ip + "/32", "dev", "eth0");
        run("ip", "-n", ns, "link", "set", "eth0", "up");
        return ip;
    }

    private static Pod pod(String name, String ns, String ip, String node) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace(ns).addToLabels("app", name).endMetadata()
                .withNewSpec().withNodeName(node).withServiceAccountName("db-reader").endSpec()
                .withNewStatus().withPhase("Running").withPodIP(ip).endStatus().build();
    }

    private static GenericKubernetesResource cnp(String name, String ns) {
        GenericKubernetesResource r = new GenericKubernetesResource();
        r.setApiVersion("cilium.io/v2");
        r.setKind("CiliumNetworkPolicy");
        r.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        r.setAdditionalProperty("spec", Map.of("endpointSelector", Map.of("matchLabels", Map.of("app", "db"))));
        return r;
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + ": " + out);
        }
    }

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        return Await.within(Duration.ofSeconds(30), c);
    }

    /** Records what the source offers, removes and resyncs (validation is the policy bundle's; see its tests). */
    private final class Policies implements PolicySink {
        @Override
        public boolean upsert(PolicyOffer offer) throws PolicyValidationException {
            if (offer.name().equals(REFUSED)) {
                throw new PolicyValidationException(List.of(new ValidationError(offer.origin(), 1, offer.kind(),
                        offer.name(), "spec", "refused by the test")));
            }
            offers.put(offer.origin(), offer);
            return !offer.document().equals(policies.put(offer.origin(), offer.document()));
        }

        @Override
        public void remove(String origin) {
            policies.remove(origin);
        }

        @Override
        public void resync(Collection<String> liveOrigins) {
            policies.keySet().retainAll(liveOrigins);
        }
    }
}
