package io.septum.endpoints.internal;

import io.septum.api.Endpoint;
import io.septum.api.EndpointState;
import io.septum.api.NamedPort;
import io.septum.api.ReservedIdentity;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.policy.Direction;
import io.septum.api.policy.PolicyEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import static io.septum.endpoints.internal.Fakes.await;
import static io.septum.endpoints.internal.Fakes.spec;
import static org.junit.jupiter.api.Assertions.*;

class EndpointManagerTest {
    @TempDir
    Path dir;
    final Fakes.Allocator ids = new Fakes.Allocator();
    final Fakes.Policies policies = new Fakes.Policies();
    final Fakes.FakeDatapath datapath = new Fakes.FakeDatapath();
    final Fakes.Host host = new Fakes.Host();
    final AtomicLong ready = new AtomicLong();
    final List<DefaultEndpointManager> managers = new ArrayList<>();

    @BeforeEach
    void interfaces() {
        host.ifindexes.put("veth-a", 11);
        host.ifindexes.put("veth-b", 12);
    }

    @AfterEach
    void close() {
        managers.forEach(DefaultEndpointManager::close);
    }

    DefaultEndpointManager manager(Duration grace) {
        var m = new DefaultEndpointManager(new DefaultEndpointManager.Settings(dir, grace, Duration.ofMillis(100)),
                ids, policies, datapath, host, ready::set);
        managers.add(m);
        return m;
    }

    static Endpoint ready(DefaultEndpointManager m, String name) throws InterruptedException {
        await(name + " ready", () -> m.get(name).map(e -> e.state() == EndpointState.READY).orElse(false));
        return m.get(name).orElseThrow();
    }

    @Test
    void endpointGoesFromWaitingForIdentityToReady() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        await("agent ready", () -> ready.get() > 0);
        ids.gate = new CountDownLatch(1);
        m.addSource(new Fakes.Source("netns",
                spec("a", "deathstar", null, Map.of("org", "empire"), "veth-a", "10.199.0.1", "fd00:199::1")));
        await("endpoint listed", () -> m.get("deathstar").isPresent());
        Endpoint waiting = m.get("deathstar").orElseThrow();
        assertEquals(EndpointState.WAITING_FOR_IDENTITY, waiting.state());
        assertEquals(0, waiting.identity());
        // while the allocator is slow, the endpoint already has a program: the init identity's, deny-all
        await("init program", () -> datapath.endpoints.containsKey(waiting.id()));
        assertInitProgram(waiting.id());
        assertEquals(EndpointState.WAITING_FOR_IDENTITY, m.get("deathstar").orElseThrow().state());
        ids.gate.countDown();

        Endpoint e = ready(m, "deathstar");
        assertTrue(e.identity() >= ReservedIdentity.FIRST_ALLOCATED);
        assertEquals(11, e.ifindex());
        assertEquals("default", e.namespace());
        assertEquals(1, e.policyRevision());
        var pushed = datapath.endpoints.get(e.id());
        assertNotNull(pushed);
        assertEquals(e.identity(), pushed.identity());
        assertEquals("veth-a", pushed.interfaceName());
        assertEquals(List.of("10.199.0.1", "fd00:199::1"), pushed.addresses());
        assertEquals(e.identity(), datapath.ipcacheIdentity("10.199.0.1/32").orElseThrow());
        assertEquals(e.identity(), datapath.ipcacheIdentity("fd00:199::1/128").orElseThrow());
        assertEquals(ReservedIdentity.HOST.id(), datapath.ipcacheIdentity("192.0.2.1/32").orElseThrow());
        assertEquals(ReservedIdentity.HOST.id(), datapath.ipcacheIdentity("2001:db8::1/128").orElseThrow());
        assertTrue(datapath.ipcacheIdentity("fe80::1/128").isEmpty(), "link-local host addresses stay out");
        // Order: the ipcache knows the endpoint's address before its policy is pushed.
        assertTrue(datapath.calls.indexOf("ipcache") < datapath.calls.lastIndexOf("upsert " + e.id()));
        assertEquals(m.ipcache(), datapath.ipcache);
    }

    void assertInitProgram(long id) {
        DatapathEndpoint init = datapath.endpoints.get(id);
        assertEquals(ReservedIdentity.INIT.id(), init.identity());
        assertTrue(init.ingressEnforced() && init.egressEnforced(), "init is enforced both ways: " + init);
        assertEquals(List.of(), datapath.policy.get(id), "no policy selects reserved:init here");
    }

    @Test
    void anEndpointWhoseIdentityCannotBeAllocatedKeepsTheInitProgramUntilItCan() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        await("agent ready", () -> ready.get() > 0);
        ids.unreachable = true;
        m.addSource(new Fakes.Source("netns",
                spec("a", "deathstar", null, Map.of("org", "empire"), "veth-a", "10.199.0.1")));
        await("endpoint listed", () -> m.get("deathstar").isPresent());
        long id = m.get("deathstar").orElseThrow().id();
        await("init program", () -> datapath.endpoints.containsKey(id));
        m.awaitIdle(Duration.ofSeconds(5));
        assertInitProgram(id);
        Endpoint waiting = m.get("deathstar").orElseThrow();
        assertEquals(EndpointState.WAITING_FOR_IDENTITY, waiting.state());
        assertTrue(waiting.message().contains("cannot allocate an identity"), waiting.message());
        await("peers see the address as init",
                () -> datapath.ipcacheIdentity("10.199.0.1/32").orElse(0L) == ReservedIdentity.INIT.id());

        ids.unreachable = false;
        Endpoint e = ready(m, "deathstar");
        assertTrue(e.identity() >= ReservedIdentity.FIRST_ALLOCATED);
        assertEquals(e.identity(), datapath.endpoints.get(id).identity());
        await("ipcache follows", () -> datapath.ipcacheIdentity("10.199.0.1/32").orElse(0L) == e.identity());
    }

    @Test
    void anEmptyOrNullEndpointsFileIsReportedAndKeptNotSilentlyReplaced() throws Exception {
        Files.writeString(dir.resolve("endpoints.json"), "null");
        var m = manager(Duration.ofSeconds(30));
        await("agent ready", () -> ready.get() > 0);
        assertEquals("degraded", m.health().state());
        assertTrue(m.health().message().contains("endpoints.json") && m.health().message().contains("kept as"),
                m.health().message());
        try (var s = Files.list(dir)) {
            assertTrue(s.anyMatch(f -> f.getFileName().toString().startsWith("endpoints.json.corrupt-")));
        }
        m.addSource(new Fakes.Source("netns", spec("a", "web", null, Map.of("app", "web"), "veth-a", "10.199.0.5")));
        ready(m, "web");
        assertEquals("degraded", m.health().state(), "the first good save does not hide what happened at start");
    }

    @Test
    void theIndexPublishesASnapshotPerChangeAndTellsListeners() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        List<io.septum.api.EndpointSnapshot> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        m.addListener(seen::add);
        var source = new Fakes.Source("netns", spec("a", "deathstar", null, Map.of("org", "empire"), "veth-a", "10.199.0.1"));
        m.addSource(source);
        Endpoint e = ready(m, "deathstar");
        await("snapshot with the ready endpoint", () -> m.snapshot().byIp("10.199.0.1")
                .map(x -> x.state() == EndpointState.READY).orElse(false));
        var snap = m.snapshot();
        assertEquals(e.id(), snap.byName("deathstar").orElseThrow().id());
        assertEquals(e.identity(), snap.identityOf(java.net.InetAddress.getByName("10.199.0.1")));
        assertEquals(m.ipcache(), snap.ipcache());
        await("listener told", () -> !seen.isEmpty() && seen.get(seen.size() - 1).revision() == snap.revision());
        for (int i = 1; i < seen.size(); i++) {
            assertTrue(seen.get(i).revision() > seen.get(i - 1).revision(), "each revision once, in order");
        }
        // a pass that changes nothing publishes nothing
        m.setNamespaceLabels("unused", Map.of());
        m.awaitIdle(Duration.ofSeconds(5));
        assertEquals(snap.revision(), m.snapshot().revision());
        // a listener added late gets the newest snapshot at once
        List<io.septum.api.EndpointSnapshot> late = new java.util.concurrent.CopyOnWriteArrayList<>();
        m.addListener(late::add);
        await("late listener told", () -> late.size() == 1 && late.get(0).revision() == snap.revision());
        // a removed endpoint leaves the next snapshot
        source.sink.remove("a");
        await("endpoint gone from the snapshot", () -> m.snapshot().byName("deathstar").isEmpty()
                && m.snapshot().byIp("10.199.0.1").isEmpty());
        await("listeners told of its removal", () -> late.get(late.size() - 1).byName("deathstar").isEmpty());
    }

    @Test
    void aCgroupEndpointWithoutInterfaceIsAcceptedAndPushedWithItsCgroup() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        var cg = new io.septum.api.EndpointSpec("sept/web", "web", "prod", Map.of("app", "web"), null, null, List.of(),
                "/sys/fs/cgroup/sept/web", Map.of("cgroup-path", "sept/web"));
        m.addSource(new Fakes.Source("cgroup", cg));
        Endpoint e = ready(m, "web");
        assertEquals("prod", e.namespace());
        assertEquals(0, e.ifindex());
        assertNull(e.interfaceName());
        assertTrue(e.labels().contains("cgroup:app=web"), e.labels().toString());
        var pushed = datapath.endpoints.get(e.id());
        assertEquals("/sys/fs/cgroup/sept/web", pushed.cgroupPath());
        assertTrue(pushed.isCgroup());
        assertEquals(0, pushed.ifindex());
        // no address of its own: nothing in the ipcache names it, so others see the host
        assertTrue(m.ipcache().stream().noneMatch(i -> i.identity() == e.identity()), m.ipcache().toString());
        // persisted with its cgroup, so that a restarted agent knows where it was enforced
        assertTrue(Files.readString(dir.resolve("endpoints.json")).contains("\"cgroupPath\" : \"/sys/fs/cgroup/sept/web\""));
    }

    @Test
    void sourcesCannotSpoofNamespaceOrReservedLabels() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        m.setNamespaceLabels("default", Map.of("team", "blue"));
        Map<String, String> spoof = Map.of(
                "app", "web",
                "io.kubernetes.pod.namespace", "kube-system",
                "k8s:io.kubernetes.pod.namespace", "kube-system",
                "netns:io.kubernetes.pod.namespace", "kube-system",
                "reserved:host", "",
                "io.cilium.k8s.namespace.labels.team", "red",
                "k8s:app", "admin",
                "container:app", "admin",
                "bad key", "x",
                "netns:app", "admin");
        spoof = new java.util.HashMap<>(spoof);
        spoof.put("io.cilium.k8s.policy.cluster", "other-cluster");
        m.addSource(new Fakes.Source("netns", spec("a", "intruder", null, spoof, "veth-a", "10.199.0.9")));
        Endpoint e = ready(m, "intruder");
        assertEquals(List.of("k8s:io.cilium.k8s.namespace.labels.team=blue", "k8s:io.kubernetes.pod.namespace=default",
                "netns:app=web"), e.labels());
        assertNotEquals(ReservedIdentity.HOST.id(), e.identity());
        assertTrue(e.identity() >= ReservedIdentity.FIRST_ALLOCATED);
        assertNotNull(e.message());
        assertTrue(e.message().contains("reserved:host dropped"), e.message());
        assertTrue(e.message().contains("k8s:app dropped"), e.message());
        assertTrue(e.message().contains("only the agent sets the namespace"), e.message());
        assertTrue(e.message().contains("given twice"), e.message());
        assertTrue(e.message().contains("only the agent sets the cluster"), e.message());
        assertEquals("default", e.namespace());

        // An invalid namespace refuses the endpoint instead of silently placing it in "default".
        m.addSource(new Fakes.Source("other", spec("b", "sneaky", "Kube_System", Map.of(), "veth-b", "10.199.0.10")));
        await("refused endpoint listed", () -> m.get("sneaky").isPresent());
        m.awaitIdle(Duration.ofSeconds(5));
        Endpoint refused = m.get("sneaky").orElseThrow();
        assertEquals(EndpointState.WAITING_FOR_IDENTITY, refused.state());
        assertTrue(refused.message().contains("not a DNS label"), refused.message());
        assertFalse(datapath.endpoints.containsKey(refused.id()));
        assertTrue(datapath.ipcacheIdentity("10.199.0.10/32").isEmpty());
    }

    @Test
    void policyChangeRegeneratesEndpoints() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        m.addSource(new Fakes.Source("netns",
                spec("s", "server", null, Map.of("role", "server"), "veth-a", "10.199.0.1"),
                spec("c", "client", null, Map.of("role", "client"), "veth-b", "10.199.0.2")));
        Endpoint server = ready(m, "server");
        Endpoint client = ready(m, "client");
        assertFalse(datapath.endpoints.get(server.id()).ingressEnforced());
        long clientPushes = datapath.calls.stream().filter(c -> c.equals("upsert " + client.id())).count();

        policies.rules.add(new Fakes.Rule("netns:role=server", Direction.INGRESS, "netns:role=client", 80, 7));
        policies.cidrs = List.of("10.198.0.0/16");
        policies.revision = 2;
        m.policyChanged(2, policies, policies.mode());
        await("server regenerated", () -> m.get("server").map(e -> e.policyRevision() == 2
                && e.state() == EndpointState.READY).orElse(false));
        var dpe = datapath.endpoints.get(server.id());
        assertTrue(dpe.ingressEnforced());
        assertEquals(List.of(new PolicyEntry(Direction.INGRESS, client.identity(),
                io.septum.api.policy.Protocol.TCP, 80, 80, io.septum.api.policy.PolicyAction.ALLOW, 7)),
                datapath.policy.get(server.id()));
        assertTrue(m.get("server").orElseThrow().policyIngress());
        long cidr = datapath.ipcacheIdentity("10.198.0.0/16").orElseThrow();
        assertTrue(cidr >= ReservedIdentity.FIRST_LOCAL, "CIDR identities are node-local: " + cidr);

        // A policy change that does not touch the client must not rewrite it, but it records the revision.
        await("client at revision 2", () -> m.get("client").orElseThrow().policyRevision() == 2);
        assertEquals(clientPushes, datapath.calls.stream().filter(c -> c.equals("upsert " + client.id())).count());

        policies.cidrs = List.of();
        policies.revision = 3;
        m.policyChanged(3, policies, policies.mode());
        await("CIDR gone from ipcache", () -> datapath.ipcacheIdentity("10.198.0.0/16").isEmpty());
        assertEquals(0, ids.refs(cidr), "the CIDR identity is released");
    }

    @Test
    void namedPortsReachTheEndpointModelAndPolicyResolution() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        var http = new NamedPort("http", 8080, "TCP");
        var dns = new NamedPort("dns", 53, "UDP");
        m.addSource(new Fakes.Source("netns",
                spec("s", "server", null, Map.of("role", "server"), "veth-a", "10.199.0.1").withPorts(List.of(http)),
                spec("c", "client", null, Map.of("role", "client"), "veth-b", "10.199.0.2").withPorts(List.of(dns))));
        Endpoint server = ready(m, "server");
        Endpoint client = ready(m, "client");
        assertEquals(List.of(http), server.namedPorts());
        String serverLabels = io.septum.api.Labels.parse(server.labels(), io.septum.api.Label.ANY).toString();
        await("server resolved", () -> policies.ownPorts.containsKey(serverLabels));
        assertEquals(List.of(http), policies.ownPorts.get(serverLabels));
        // egress rules resolve names on each peer identity: the client's, seen from the server
        assertEquals(List.of(dns), policies.peerPorts.get(serverLabels).get(client.identity()));
        assertEquals(List.of(http), policies.peerPorts.get(serverLabels).get(server.identity()));
    }

    @Test
    void namespaceLabelsChangeIdentityAndPolicy() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        m.addSource(new Fakes.Source("netns",
                spec("s", "server", "prod", Map.of("role", "server"), "veth-a", "10.199.0.1"),
                spec("c", "client", "dev", Map.of("role", "client"), "veth-b", "10.199.0.2")));
        Endpoint server = ready(m, "prod/server");
        Endpoint client = ready(m, "dev/client");
        policies.rules.add(new Fakes.Rule("netns:role=server", Direction.INGRESS,
                "k8s:io.cilium.k8s.namespace.labels.trusted=yes", 443, 9));
        policies.revision = 2;
        m.policyChanged(2, policies, policies.mode());
        await("server enforced", () -> datapath.endpoints.get(server.id()).ingressEnforced());
        assertEquals(List.of(), datapath.policy.get(server.id()), "no namespace is trusted yet");

        m.setNamespaceLabels("dev", Map.of("trusted", "yes"));
        assertEquals(Map.of("dev", Map.of("trusted", "yes")), m.namespaceLabels());
        await("client relabelled", () -> m.get("dev/client").map(e -> e.state() == EndpointState.READY
                && e.labels().contains("k8s:io.cilium.k8s.namespace.labels.trusted=yes")).orElse(false));
        long newIdentity = m.get("dev/client").orElseThrow().identity();
        assertNotEquals(client.identity(), newIdentity);
        assertEquals(0, ids.refs(client.identity()), "the old identity is released");
        await("server allows the trusted namespace", () -> datapath.policy.get(server.id()).stream()
                .anyMatch(p -> p.identity() == newIdentity && p.port() == 443));
        assertEquals(newIdentity, datapath.ipcacheIdentity("10.199.0.2/32").orElseThrow());
        assertThrows(IllegalArgumentException.class, () -> m.setNamespaceLabels("Bad NS", Map.of()));
        assertThrows(IllegalArgumentException.class, () -> m.setNamespaceLabels("dev", Map.of("a=b", "c")));
    }

    @Test
    void aSourceSetsNamespaceLabelsThroughItsSinkForEveryEndpointOfTheNamespace() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        var netns = new Fakes.Source("netns", spec("c", "client", "dev", Map.of("role", "client"), "veth-b", "10.199.0.2"));
        var k8s = new Fakes.Source("k8s");
        m.addSource(netns);
        m.addSource(k8s);
        Endpoint client = ready(m, "dev/client");
        await("k8s opened", () -> k8s.sink != null);

        k8s.sink.namespaceLabels("dev", Map.of("team", "a"));
        assertEquals(Map.of("dev", Map.of("team", "a")), m.namespaceLabels(), "the same setting as namespace set");
        await("another source's endpoint relabelled", () -> m.get("dev/client").map(e -> e.state() == EndpointState.READY
                && e.labels().contains("k8s:io.cilium.k8s.namespace.labels.team=a")).orElse(false));
        assertNotEquals(client.identity(), m.get("dev/client").orElseThrow().identity());

        var bad = assertThrows(IllegalArgumentException.class, () -> k8s.sink.namespaceLabels("Bad NS", Map.of("a", "b")));
        assertTrue(bad.getMessage().contains("Bad NS"), bad.getMessage());
        assertEquals(Map.of("dev", Map.of("team", "a")), m.namespaceLabels(), "nothing applied");

        // Labels outlive the source that set them (they are the namespace's, persisted), but a closed sink is deaf.
        m.removeSource(k8s);
        await("k8s closed", () -> k8s.closed);
        k8s.sink.namespaceLabels("dev", Map.of());
        assertEquals(Map.of("dev", Map.of("team", "a")), m.namespaceLabels());
    }

    @Test
    void unboundSourceDisconnectsThenRemovesAfterGrace() throws Exception {
        var m = manager(Duration.ofMillis(600));
        var src = new Fakes.Source("netns", spec("a", "deathstar", null, Map.of("org", "empire"), "veth-a", "10.199.0.1"));
        m.addSource(src);
        Endpoint e = ready(m, "deathstar");
        m.removeSource(src);
        await("source closed", () -> src.closed);
        assertEquals(EndpointState.DISCONNECTED, m.get("deathstar").orElseThrow().state());
        assertTrue(datapath.endpoints.containsKey(e.id()), "datapath state stays during the grace period");
        // A closed source cannot resurrect endpoints.
        src.sink.upsert(spec("z", "ghost", null, Map.of(), "veth-b"));
        await("endpoint removed after grace", () -> m.get("deathstar").isEmpty());
        await("datapath state removed", () -> !datapath.endpoints.containsKey(e.id()));
        assertTrue(m.get("ghost").isEmpty());
        assertTrue(datapath.ipcacheIdentity("10.199.0.1/32").isEmpty());
        assertEquals(0, ids.refs(e.identity()));
    }

    @Test
    void sourceResyncAndRemoveDeleteEndpoints() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        var src = new Fakes.EditableSource("netns",
                spec("a", "a", null, Map.of("x", "1"), "veth-a", "10.199.0.1"),
                spec("b", "b", null, Map.of("x", "2"), "veth-b", "10.199.0.2"));
        m.addSource(src);
        Endpoint a = ready(m, "a");
        Endpoint b = ready(m, "b");
        src.sink.resync(List.of("a"));
        await("b removed", () -> m.get("b").isEmpty() && !datapath.endpoints.containsKey(b.id()));
        m.delete(String.valueOf(a.id()));
        assertEquals(List.of("a"), src.deleted);
        await("a removed", () -> m.get("a").isEmpty() && !datapath.endpoints.containsKey(a.id()));
    }

    @Test
    void addDeleteAndLookupGoThroughTheSource() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        var src = new Fakes.EditableSource("netns");
        m.addSource(src);
        await("source opened", () -> src.sink != null);
        m.add("netns", spec("web-1", "web", "prod", Map.of("app", "web"), "veth-a", "10.199.0.5"));
        assertEquals(1, src.added.size());
        Endpoint e = ready(m, "web");
        assertEquals(e, m.get("prod/web").orElseThrow());
        assertEquals(e, m.get(String.valueOf(e.id())).orElseThrow());
        assertTrue(m.get("default/web").isEmpty());
        var err = assertThrows(IllegalArgumentException.class, () -> m.add("docker", spec("x", "x", null, Map.of(), null)));
        assertTrue(err.getMessage().contains("docker") && err.getMessage().contains("netns"), err.getMessage());
        m.add("netns", spec("web-2", "web", "dev", Map.of("app", "web"), "veth-b", "10.199.0.6"));
        await("second web", () -> m.list().size() == 2);
        assertTrue(m.get("web").isEmpty(), "a bare name that is not unique matches nothing");
        m.delete("prod/web");
        assertEquals(List.of("web-1"), src.deleted);
        assertEquals(1, m.sources().size());
        assertEquals("netns", m.sources().get(0).source());
        assertTrue(m.sources().get(0).lastSync() > 0);
    }

    @Test
    void aReadOnlySourceIsNeverAskedToAddOrDeleteAndTheErrorSaysWhichSourcesDo() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        var docker = new Fakes.Source("docker", spec("c1", "web", null, Map.of("app", "web"), "veth-a", "10.199.0.5"));
        m.addSource(docker);
        Endpoint web = ready(m, "web");
        var add = assertThrows(IllegalArgumentException.class,
                () -> m.add("docker", spec("x", "x", null, Map.of(), "veth-b", "10.199.0.6")));
        assertEquals("endpoint source \"docker\" does not take endpoints from the operator: it reports what its backend"
                + " runs (sources that do: none running)", add.getMessage());
        var netns = new Fakes.EditableSource("netns");
        m.addSource(netns);
        await("netns opened", () -> netns.sink != null);
        add = assertThrows(IllegalArgumentException.class,
                () -> m.add("docker", spec("x", "x", null, Map.of(), "veth-b", "10.199.0.6")));
        assertTrue(add.getMessage().endsWith("(sources that do: netns)"), add.getMessage());
        var delete = assertThrows(IllegalArgumentException.class, () -> m.delete("web"));
        assertEquals("endpoint default/web belongs to source docker, which does not delete endpoints on request: remove"
                + " the workload from docker's backend and the source reports it gone", delete.getMessage());
        assertEquals(EndpointState.READY, m.get(String.valueOf(web.id())).orElseThrow().state(), "nothing changed");
    }

    @Test
    void datapathFailureKeepsStateAndRetries() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        // failing until the test lets it succeed: the failure is shown for as long as it lasts (a fixed number of
        // failures is over within a retry or two, which a busy machine's polling can miss)
        datapath.failUpserts = Integer.MAX_VALUE;
        m.addSource(new Fakes.Source("netns", spec("a", "a", null, Map.of("x", "1"), "veth-a", "10.199.0.1")));
        await("failure shown", () -> m.get("a").map(e -> e.message() != null
                && e.message().contains("policy map full")).orElse(false));
        assertNotEquals(EndpointState.READY, m.get("a").orElseThrow().state());
        await("retried", () -> datapath.calls.stream().filter(c -> c.startsWith("upsert-failed")).count() >= 3);
        datapath.failUpserts = 0;
        Endpoint e = ready(m, "a");
        assertNull(e.message());
    }

    @Test
    void missingInterfaceIsReportedAndRetried() throws Exception {
        var m = manager(Duration.ofSeconds(30));
        m.addSource(new Fakes.Source("netns", spec("a", "late", null, Map.of(), "veth-late", "10.199.0.1")));
        await("error shown", () -> m.get("late").map(e -> e.message() != null
                && e.message().contains("veth-late")).orElse(false));
        synchronized (host) {
            host.ifindexes.put("veth-late", 42);
        }
        assertEquals(42, ready(m, "late").ifindex());
    }

    @Test
    void restartKeepsIdsAndIdentitiesAndLeavesDatapathAloneUntilReported() throws Exception {
        var m1 = manager(Duration.ofSeconds(30));
        m1.setNamespaceLabels("default", Map.of("team", "blue"));
        m1.addSource(new Fakes.Source("netns",
                spec("x", "xwing", null, Map.of("org", "alliance"), "veth-a", "10.199.0.3"),
                spec("t", "tiefighter", null, Map.of("org", "empire"), "veth-b", "10.199.0.4")));
        Endpoint x = ready(m1, "xwing");
        Endpoint t = ready(m1, "tiefighter");
        m1.awaitIdle(Duration.ofSeconds(5));
        assertTrue(Files.exists(dir.resolve("endpoints.json")));
        m1.close();

        // The agent dies; programs and maps stay. The new agent finds them pinned.
        datapath.restored = datapath.pinned();
        int before = datapath.calls.size();
        ready.set(0);
        var m2 = manager(Duration.ofSeconds(30));
        await("ready after restore", () -> ready.get() > 0);
        m2.awaitIdle(Duration.ofSeconds(5));
        Endpoint rx = m2.get("xwing").orElseThrow();
        assertEquals(x.id(), rx.id());
        assertEquals(x.identity(), rx.identity());
        assertEquals(EndpointState.DISCONNECTED, rx.state());
        assertEquals(Map.of("default", Map.of("team", "blue")), m2.namespaceLabels());
        List<String> since = datapath.calls.subList(before, datapath.calls.size());
        assertTrue(since.stream().noneMatch(c -> c.startsWith("upsert") || c.startsWith("remove")),
                "restored endpoints are not touched before their source reports them: " + since);
        assertEquals(x.identity(), datapath.ipcacheIdentity("10.199.0.3/32").orElseThrow(),
                "restored endpoints keep their ipcache entries");

        m2.addSource(new Fakes.Source("netns",
                spec("x", "xwing", null, Map.of("org", "alliance"), "veth-a", "10.199.0.3")));
        Endpoint again = ready(m2, "xwing");
        assertEquals(x.id(), again.id());
        assertEquals(x.identity(), again.identity());
        // The source's resync did not list the tiefighter: it is gone.
        await("tiefighter removed", () -> m2.get("tiefighter").isEmpty() && !datapath.endpoints.containsKey(t.id()));
    }

    @Test
    void restoredEndpointsThatNeverComeBackAreRemovedAfterGrace() throws Exception {
        var m1 = manager(Duration.ofSeconds(30));
        m1.addSource(new Fakes.Source("netns", spec("x", "xwing", null, Map.of(), "veth-a", "10.199.0.3")));
        Endpoint x = ready(m1, "xwing");
        m1.awaitIdle(Duration.ofSeconds(5));
        m1.close();
        datapath.restored = new ArrayList<>(datapath.pinned());
        datapath.restored.add(new io.septum.api.datapath.BpfEndpoint(99, 777, 300, 0, "veth-orphan"));
        var m2 = manager(Duration.ofMillis(500));
        await("xwing removed after grace", () -> m2.get("xwing").isEmpty());
        await("datapath cleaned", () -> datapath.calls.contains("remove " + x.id()) && datapath.calls.contains("remove 777"));
        // New endpoints after a restart do not take a persisted id.
        m2.addSource(new Fakes.Source("netns", spec("y", "ywing", null, Map.of(), "veth-b", "10.199.0.4")));
        assertNotEquals(x.id(), ready(m2, "ywing").id());
    }
}
