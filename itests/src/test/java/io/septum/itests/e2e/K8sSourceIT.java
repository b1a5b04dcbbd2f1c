package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.septum.testsupport.TestFiles;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The kubernetes source hot-deployed into the real agent, against fabric8's mock API server in CRUD mode on a
 * loopback port (a real API server cannot be had on the test machines; the agent reads a kubeconfig naming it).
 * Every corpus case without L7 probes runs with its namespaces, pods and policies created as API objects: each pod
 * is backed by a network namespace this test creates (veth on a bridge, pod IP in 10.197.0.0/16, found by the
 * source through the pod's namespace), and probed with real packets; verdicts must equal {@code policy eval}'s.
 * Then a policy object that does not validate is reported (log, Event, {@code policy list}) and applies nothing,
 * a redeploy under traffic keeps enforcing, and undeploying the bundle disconnects its endpoints.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class K8sSourceIT {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Duration SETTLE = Duration.ofSeconds(60);
    private final String node = "sept-node-" + E2eSupport.rand();
    private KubernetesMockServer server;
    private KubernetesClient api;
    private Path home;
    private Path jar;
    private E2eSupport.Agent agent;

    @BeforeAll
    void start() throws Exception {
        Path dist = E2eSupport.distribution();
        Path optional = E2eSupport.optionalJar(dist, "septum-source-kubernetes.jar");
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(List.of()), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        api = server.createClient();

        home = Files.createTempDirectory("septum-e2e-k8s-home");
        E2eSupport.privateHome(home, dist);
        Path kubeconfig = home.resolve("kubeconfig");
        Files.writeString(kubeconfig, "apiVersion: v1\nkind: Config\n"
                + "clusters:\n- name: mock\n  cluster:\n    server: http://127.0.0.1:" + server.getPort() + "\n"
                + "users:\n- name: septum\n  user:\n    token: e2e\n"
                + "contexts:\n- name: mock\n  context:\n    cluster: mock\n    user: septum\n"
                + "current-context: mock\n");
        // The mock server has no field selectors: the source lists every pod and keeps this node's.
        Files.writeString(home.resolve("etc/io.septum.source.kubernetes.cfg"), "kubeconfig=" + kubeconfig + "\n"
                + "nodeName=" + node + "\nnodeFieldSelector=false\ntickSeconds=1\n");
        jar = optional;
        agent = E2eSupport.Agent.start(home.resolve("bin/septum"));
        Path tmp = home.resolve("septum-source-kubernetes.jar.tmp");
        Files.copy(jar, tmp);
        Files.move(tmp, home.resolve("deploy/septum-source-kubernetes.jar"), StandardCopyOption.ATOMIC_MOVE);
        boolean up = E2eSupport.await(SETTLE, () -> sourceConnected(true));
        if (!up) agent.printLog();
        assertTrue(up, "status shows the k8s source connected after the hot deploy: " + status());
        assertTrue(status().toString().contains("\"source-kubernetes\""), "status lists the component: " + status());
    }

    /** A node's declared ports plus the probed ones, as "80" or "53/UDP". */
    private static JsonNode ports(JsonNode node, Set<String> probed) {
        com.fasterxml.jackson.databind.node.ArrayNode out = YAML.createArrayNode();
        Set<String> all = new LinkedHashSet<>();
        for (JsonNode p : node.path("ports")) {
            // a named port {name, port, protocol} listens on its number like any other
            all.add(p.isObject() ? p.path("port").asText() + "/" + p.path("protocol").asText("TCP").toUpperCase(Locale.ROOT)
                    : p.asText());
        }
        for (String p : probed) {
            boolean declared = all.stream().anyMatch(d -> d.equalsIgnoreCase(p) || d.equalsIgnoreCase(p + "/TCP"));
            if (!declared) all.add(p);
        }
        all.forEach(out::add);
        return out;
    }

    @AfterAll
    void stop() {
        if (agent != null) agent.close();
        if (api != null) api.close();
        if (server != null) server.destroy();
        if (home != null) TestFiles.deleteTree(home);
    }

    @TestFactory
    @Order(1)
    Stream<DynamicTest> corpusThroughTheKubernetesApi() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (E2eSupport.CorpusEntry e : E2eSupport.corpusFiles("cases")) {
            Path c = e.path();
            JsonNode tc = YAML.readTree(c.toFile());
            // this test's probes are plain connections: the DNS cases are ConnectivityCorpusIT's (a DNS server in the lab)
            if (E2eSupport.hasL7Probes(tc) || E2eSupport.hasDnsLookups(tc)) continue;
            tests.add(DynamicTest.dynamicTest(e.name(), () -> runCase(c, tc)));
        }
        return tests.stream();
    }

    private void runCase(Path file, JsonNode tc) throws Exception {
        JsonNode eval = agent.cli("policy", "eval", file.toString(), "-o", "json").json();
        List<GenericKubernetesResource> policies = new ArrayList<>();
        Set<String> namespaces = new LinkedHashSet<>();
        try (E2eNet lab = lab()) {
            // Namespaces first, with the case's labels, as a cluster has them before its pods.
            tc.path("namespaces").fieldNames().forEachRemaining(namespaces::add);
            for (JsonNode e : tc.path("endpoints")) namespaces.add(e.path("namespace").asText("default"));
            for (String ns : namespaces) {
                Map<String, String> labels = new LinkedHashMap<>();
                tc.path("namespaces").path(ns).fields().forEachRemaining(f -> labels.put(f.getKey(), f.getValue().asText()));
                api.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).withLabels(labels)
                        .endMetadata().build()).createOr(r -> r.update());
            }
            Map<String, E2eNet.Node> nodes = new LinkedHashMap<>();
            // as the connectivity lab does: listen on every declared port and on every probed one, so that a
            // refusal always means a verdict, not a lab without a listener
            Map<String, Set<String>> probed = new HashMap<>();
            int at = 0;
            for (JsonNode p : tc.path("probes")) {
                String proto = p.path("protocol").asText("TCP").toUpperCase(Locale.ROOT);
                // eval's port: a probe of a named port ("port: http") gets the number the destination declares
                int port = eval.path("results").get(at++).path("port").asInt();
                if (p.has("port") && !proto.startsWith("ICMP")) {
                    probed.computeIfAbsent(p.path("to").asText(), k -> new LinkedHashSet<>())
                            .add(port + (proto.equals("UDP") ? "/UDP" : ""));
                }
            }
            Map<String, Integer> names = new HashMap<>();
            for (JsonNode e : tc.path("endpoints")) names.merge(e.path("name").asText(), 1, Integer::sum);
            for (JsonNode e : tc.path("endpoints")) {
                String ns = e.path("namespace").asText("default");
                String name = e.path("name").asText();
                E2eNet.Node n = lab.add(ns + "/" + name);
                listen(lab, n, ports(e, probed.getOrDefault(ns + "/" + name, probed.getOrDefault(name, Set.of()))));
                nodes.put(ns + "/" + name, n);
                if (names.get(name) == 1) nodes.put(name, n);
                Map<String, String> labels = new LinkedHashMap<>();
                e.path("labels").fields().forEachRemaining(f -> labels.put(f.getKey(), f.getValue().asText()));
                // the case's named ports as the pod's named containerPorts, which the source reads
                List<io.fabric8.kubernetes.api.model.ContainerPort> named = new ArrayList<>();
                for (JsonNode p : e.path("ports")) {
                    if (!p.isObject()) continue;
                    named.add(new io.fabric8.kubernetes.api.model.ContainerPortBuilder().withName(p.path("name").asText())
                            .withContainerPort(p.path("port").asInt())
                            .withProtocol(p.path("protocol").asText("TCP").toUpperCase(Locale.ROOT)).build());
                }
                api.pods().inNamespace(ns).resource(new PodBuilder().withNewMetadata().withName(name).withNamespace(ns)
                        .withLabels(labels).endMetadata().withNewSpec().withNodeName(node)
                        .addNewContainer().withName("app").withPorts(named).endContainer().endSpec()
                        .withNewStatus().withPhase("Running").withPodIP(n.ip()).endStatus().build()).create();
            }
            for (JsonNode x : tc.path("external")) {
                if (x.path("ip").asText().contains(":")) continue; // this lab is IPv4 only: its probes are skipped below
                E2eNet.Node n = lab.add(x.path("name").asText(), x.path("ip").asText());
                listen(lab, n, ports(x, probed.getOrDefault(x.path("name").asText(), Set.of())));
                nodes.put(x.path("name").asText(), n);
            }
            int pods = tc.path("endpoints").size();
            awaitPods(pods, -1);
            long before = agent.get("/v1/status").path("policyRevision").asLong();
            for (JsonNode doc : YAML.readerFor(JsonNode.class).readValues(tc.path("policies").asText())
                    .readAll().stream().map(JsonNode.class::cast).toList()) {
                if (doc.isNull() || doc.isEmpty()) continue;
                GenericKubernetesResource r = YAML.convertValue(doc, GenericKubernetesResource.class);
                ResourceDefinitionContext ctx = context(r.getKind());
                if (ctx.isNamespaceScoped() && r.getMetadata().getNamespace() == null) r.getMetadata().setNamespace("default");
                policies.add(ctx.isNamespaceScoped()
                        ? api.genericKubernetesResources(ctx).inNamespace(r.getMetadata().getNamespace()).resource(r).create()
                        : api.genericKubernetesResources(ctx).resource(r).create());
            }
            boolean loaded = E2eSupport.await(SETTLE, () -> k8sPolicies() == policies.size()
                    && revision() >= before + policies.size());
            if (!loaded) agent.printLog();
            assertTrue(loaded, "the case's " + policies.size() + " policies loaded from the API: "
                    + agent.cli("policy", "list").out());
            awaitPods(pods, revision());

            // the probes side by side (a denied one waits out its timeout), each judged on its own
            List<java.util.concurrent.Callable<String>> checks = new ArrayList<>();
            int i = 0;
            int skipped = 0;
            for (JsonNode p : tc.path("probes")) {
                E2eNet.Node from = nodes.get(p.path("from").asText());
                E2eNet.Node to = nodes.get(p.path("to").asText());
                String proto = p.path("protocol").asText("TCP").toUpperCase(Locale.ROOT);
                if (proto.startsWith("ICMP") || from == null || to == null) {
                    // what the connectivity lab covers with real packets: ICMP, and IPv6 peers this lab lacks
                    skipped++;
                    i++;
                    continue;
                }
                String expected = eval.path("results").get(i).path("verdict").asText();
                int port = eval.path("results").get(i).path("port").asInt(); // named probe ports resolved by eval
                checks.add(() -> {
                    String got = probe(from, to.ip(), port, proto, "allow".equals(expected)) ? "allow" : "deny";
                    return got.equals(expected) && got.equals(p.path("expect").asText()) ? null
                            : p + ": real packets " + got + ", policy eval " + expected;
                });
                i++;
            }
            List<String> wrong = new ArrayList<>();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(PARALLEL_PROBES);
            try {
                for (java.util.concurrent.Future<String> f : pool.invokeAll(checks, 2, TimeUnit.MINUTES)) {
                    String w = f.isCancelled() ? "a probe did not end within 2 minutes" : f.get();
                    if (w != null) wrong.add(w);
                }
            } finally {
                pool.shutdownNow();
            }
            if (skipped > 0) System.out.println("K8sSourceIT " + file.getFileName() + ": " + skipped
                    + " probe(s) skipped (ICMP, or an IPv6 peer: this lab is IPv4 TCP/UDP)");
            assertEquals(List.of(), wrong, file.getFileName() + ": probes whose real verdict differs");
        } finally {
            for (GenericKubernetesResource r : policies) {
                ResourceDefinitionContext ctx = context(r.getKind());
                if (ctx.isNamespaceScoped()) {
                    api.genericKubernetesResources(ctx).inNamespace(r.getMetadata().getNamespace())
                            .withName(r.getMetadata().getName()).delete();
                } else {
                    api.genericKubernetesResources(ctx).withName(r.getMetadata().getName()).delete();
                }
            }
            api.pods().inAnyNamespace().delete();
            for (String ns : namespaces) api.namespaces().withName(ns).delete();
            boolean clean = E2eSupport.await(SETTLE, () -> k8sEndpoints().isEmpty() && k8sPolicies() == 0);
            assertTrue(clean, "deleted pods and policies leave the agent: " + k8sEndpoints() + "\n"
                    + agent.cli("policy", "list").out());
        }
    }

    @Test
    @Order(2)
    void rejectedPolicyObjectIsReportedAndAppliesNothing() throws Exception {
        long before = revision();
        GenericKubernetesResource bad = cnp("sept-bad", "70000");
        ResourceDefinitionContext ctx = context("CiliumNetworkPolicy");
        api.genericKubernetesResources(ctx).inNamespace("default").resource(bad).create();
        try {
            boolean listed = E2eSupport.await(SETTLE, () -> rejectedNote("sept-bad") != null);
            assertTrue(listed, "policy list shows the object as rejected: " + agent.cli("policy", "list").out());
            assertTrue(rejectedNote("sept-bad").contains("65535"), "with the reason: " + rejectedNote("sept-bad"));
            String table = agent.cli("policy", "list").out();
            assertTrue(table.contains("REJECTED:") && table.contains("k8s:CiliumNetworkPolicy/default/sept-bad"), table);
            assertEquals(before, revision(), "nothing applied");
            assertTrue(E2eSupport.await(SETTLE, () -> api.v1().events().inNamespace("default").list().getItems().stream()
                    .anyMatch(e -> "PolicyRejected".equals(e.getReason())
                            && "sept-bad".equals(e.getInvolvedObject().getName()))), "a Kubernetes Event names the object");
            assertTrue(Files.readString(agent.log).contains("rejected k8s:CiliumNetworkPolicy/default/sept-bad"), "a log line");

            // Fixed: applied, and the rejection is gone.
            api.genericKubernetesResources(ctx).inNamespace("default").resource(cnp("sept-bad", "80")).update();
            assertTrue(E2eSupport.await(SETTLE, () -> rejectedNote("sept-bad") == null && k8sPolicies() == 1),
                    "the fixed object is applied: " + agent.cli("policy", "list").out());
        } finally {
            api.genericKubernetesResources(ctx).inNamespace("default").withName("sept-bad").delete();
        }
        assertTrue(E2eSupport.await(SETTLE, () -> k8sPolicies() == 0), "deleting the object deletes the policy");
    }

    @Test
    @Order(3)
    void redeployUnderTrafficKeepsEnforcingAndUndeployDisconnects() throws Exception {
        ResourceDefinitionContext ctx = context("CiliumNetworkPolicy");
        try (E2eNet lab = lab()) {
            E2eNet.Node srv = lab.add("srv");
            E2eNet.Node cli = lab.add("cli");
            E2eNet.Node oth = lab.add("oth");
            listen(lab, srv, YAML.readTree("[80]"));
            pod("sept-srv", "srv", srv);
            pod("sept-cli", "cli", cli);
            pod("sept-oth", "oth", oth);
            GenericKubernetesResource allow = new GenericKubernetesResource();
            allow.setApiVersion("cilium.io/v2");
            allow.setKind("CiliumNetworkPolicy");
            allow.setMetadata(new ObjectMetaBuilder().withName("sept-srv-in").withNamespace("default").build());
            allow.setAdditionalProperty("spec", Map.of("endpointSelector", Map.of("matchLabels", Map.of("app", "srv")),
                    "ingress", List.of(Map.of("fromEndpoints", List.of(Map.of("matchLabels", Map.of("app", "cli")))))));
            api.genericKubernetesResources(ctx).inNamespace("default").resource(allow).create();
            try {
                assertTrue(E2eSupport.await(SETTLE, () -> k8sPolicies() == 1), "policy loaded");
                awaitPods(3, revision());
                JsonNode ep = k8sEndpoints().stream().filter(e -> e.path("name").asText().equals("sept-cli"))
                        .findFirst().orElseThrow();
                assertTrue(ep.toString().contains("k8s:io.cilium.k8s.policy.serviceaccount=default"), ep.toString());
                assertTrue(ep.toString().contains("\"pod-name\":\"sept-cli\""), ep.toString());
                assertTrue(probe(cli, srv.ip(), 80, "TCP", true), "cli -> srv allowed before the redeploy");
                assertFalse(probe(oth, srv.ip(), 80, "TCP", false), "oth -> srv denied before the redeploy");

                // Redeploy (same bundle, new file) while probing: enforcement holds throughout.
                Path deployed = home.resolve("deploy/septum-source-kubernetes.jar");
                Path tmp = home.resolve("septum-source-kubernetes.jar.tmp");
                Files.copy(jar, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.setLastModifiedTime(tmp, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
                Files.move(tmp, deployed, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                List<String> wrong = new ArrayList<>();
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                int rounds = 0;
                while (System.nanoTime() < end) {
                    if (!probe(cli, srv.ip(), 80, "TCP", true)) wrong.add("round " + rounds + ": cli -> srv dropped");
                    if (probe(oth, srv.ip(), 80, "TCP", false)) wrong.add("round " + rounds + ": oth -> srv allowed");
                    rounds++;
                }
                assertEquals(List.of(), wrong, "probes during the redeploy (" + rounds + " rounds)");
                assertTrue(E2eSupport.await(SETTLE, () -> sourceConnected(true)), "the redeployed source is connected");
                awaitPods(3, -1);

                Files.delete(deployed);
                assertTrue(E2eSupport.await(SETTLE, () -> k8sEndpoints().stream()
                        .allMatch(e -> e.path("state").asText().equalsIgnoreCase("disconnected"))),
                        "pods disconnected after the undeploy: " + k8sEndpoints());
                assertTrue(E2eSupport.await(SETTLE, () -> !status().toString().contains("\"source-kubernetes\"")),
                        "status no longer lists the source");
            } finally {
                api.genericKubernetesResources(ctx).inNamespace("default").withName("sept-srv-in").delete();
                api.pods().inNamespace("default").delete();
            }
        }
    }

    private void pod(String name, String app, E2eNet.Node n) {
        api.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName(name)
                .addToLabels("app", app).endMetadata().withNewSpec().withNodeName(node).endSpec()
                .withNewStatus().withPhase("Running").withPodIP(n.ip()).endStatus().build()).create();
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    private static GenericKubernetesResource cnp(String name, String port) {
        GenericKubernetesResource r = new GenericKubernetesResource();
        r.setApiVersion("cilium.io/v2");
        r.setKind("CiliumNetworkPolicy");
        r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
        r.setAdditionalProperty("spec", Map.of("endpointSelector", Map.of("matchLabels", Map.of("app", "sept-bad")),
                "ingress", List.of(Map.of("toPorts", List.of(Map.of("ports",
                        List.of(Map.of("port", port, "protocol", "TCP"))))))));
        return r;
    }

    private static ResourceDefinitionContext context(String kind) {
        return switch (kind) {
            case "CiliumNetworkPolicy" -> new ResourceDefinitionContext.Builder().withGroup("cilium.io").withVersion("v2")
                    .withKind(kind).withPlural("ciliumnetworkpolicies").withNamespaced(true).build();
            case "CiliumClusterwideNetworkPolicy" -> new ResourceDefinitionContext.Builder().withGroup("cilium.io")
                    .withVersion("v2").withKind(kind).withPlural("ciliumclusterwidenetworkpolicies").withNamespaced(false)
                    .build();
            case "NetworkPolicy" -> new ResourceDefinitionContext.Builder().withGroup("networking.k8s.io")
                    .withVersion("v1").withKind(kind).withPlural("networkpolicies").withNamespaced(true).build();
            case "CiliumCIDRGroup" -> new ResourceDefinitionContext.Builder().withGroup("cilium.io")
                    .withVersion("v2alpha1").withKind(kind).withPlural("ciliumcidrgroups").withNamespaced(false).build();
            default -> throw new AssertionError("no API resource for kind " + kind);
        };
    }

    private JsonNode status() {
        try {
            return agent.get("/v1/status");
        } catch (IOException e) {
            return com.fasterxml.jackson.databind.node.NullNode.getInstance();
        }
    }

    private boolean sourceConnected(boolean want) {
        for (JsonNode s : status().path("sources")) {
            if (s.path("source").asText().equals("k8s")) return s.path("connected").asBoolean() == want;
        }
        return false;
    }

    private long revision() {
        return status().path("policyRevision").asLong(-1);
    }

    private List<JsonNode> k8sEndpoints() {
        List<JsonNode> out = new ArrayList<>();
        try {
            for (JsonNode e : agent.get("/v1/endpoints")) if (e.path("source").asText().equals("k8s")) out.add(e);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out;
    }

    private int k8sPolicies() {
        int n = 0;
        try {
            for (JsonNode p : agent.get("/v1/policies")) {
                if (p.path("origin").asText().startsWith("k8s:") && p.path("revision").asLong() > 0) n++;
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return n;
    }

    private String rejectedNote(String name) {
        try {
            for (JsonNode p : agent.get("/v1/policies")) {
                if (!p.path("name").asText().equals(name)) continue;
                for (JsonNode note : p.path("notes")) if (note.asText().startsWith("REJECTED: ")) return note.asText();
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return null;
    }

    /** Waits until {@code count} pod endpoints are ready (and have realised {@code revision} when it is >= 0). */
    private void awaitPods(int count, long revision) {
        boolean ok = E2eSupport.await(SETTLE, () -> {
            List<JsonNode> eps = k8sEndpoints();
            return eps.size() == count && eps.stream().allMatch(e -> e.path("state").asText().equalsIgnoreCase("ready")
                    && (revision < 0 || e.path("policyRevision").asLong() >= revision));
        });
        if (!ok) agent.printLog();
        assertTrue(ok, count + " pod endpoints ready" + (revision >= 0 ? " at revision " + revision : "") + ": "
                + k8sEndpoints());
    }

    /**
     * Pods and external hosts as network namespaces on one bridge ({@code sept-t<id>-<n>}, host veths
     * {@code sk<id><n>}, bridge {@code skb<id>}, pod IPs in 10.197.0.0/16), with socat echo listeners; everything
     * goes when it is closed.
     */
    private static E2eNet lab() {
        return new E2eNet("sk", "10.197.");
    }

    /** Echo listeners on the case's ports ("80" or "8050/UDP"). */
    private static void listen(E2eNet lab, E2eNet.Node node, JsonNode ports) throws IOException {
        for (JsonNode p : ports) {
            String[] parts = p.asText().split("/");
            lab.listen(node, parts[0], parts.length > 1 && parts[1].equalsIgnoreCase("UDP"));
        }
    }

    /**
     * Probes sent at once: a denied one waits out its second, and an allowed one has three tries (below), so that
     * the load of its neighbours cannot turn it into a false deny.
     */
    private static final int PARALLEL_PROBES = 8;

    /**
     * True when an echo comes back. A probe eval expects to pass gets three tries (the first packets of a new
     * endpoint may race its neighbour entries); a denied one is tried once, for a second.
     */
    private static boolean probe(E2eNet.Node from, String ip, int port, String proto, boolean expectAllow) {
        int tries = expectAllow ? 3 : 1;
        for (int i = 0; i < tries; i++) {
            if (once(from, ip, port, proto)) return true;
        }
        return false;
    }

    private static boolean once(E2eNet.Node from, String ip, int port, String proto) {
        String target = proto.equals("UDP") ? "UDP4:" + ip + ":" + port : "TCP4:" + ip + ":" + port + ",connect-timeout=1";
        return E2eNet.echoes(new ProcessBuilder("ip", "netns", "exec", from.netns(), "socat", "-t", "1", "-", target),
                "k8s-" + E2eSupport.rand(), Duration.ofSeconds(4), Process::destroyForcibly);
    }
}
