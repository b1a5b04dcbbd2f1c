package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.septum.api.ClusterInfo;
import io.septum.api.ClusterNode;
import io.septum.api.ClusterStatus;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowNodeStatus;
import io.septum.api.flow.FlowQuery;
import io.septum.api.flow.FlowRelay;
import io.septum.apiserver.testing.FakeFlowObserver;
import io.septum.kvstore.etcd.internal.EtcdClient;
import io.septum.kvstore.etcd.internal.IpcacheSync;
import io.septum.kvstore.etcd.internal.LeaseSession;
import io.septum.kvstore.etcd.internal.TestEtcd;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code observe --cluster} for real: three nodes' flow stores, two peer flow services on loopback with TLS and
 * certificates made by openssl, the node registry in a real etcd (written and read by the kvstore's own
 * {@link IpcacheSync}), and node-a's relay merging them, directly and through the unix socket as the CLI asks.
 * The registry also holds a node whose service is down, a node whose registered address is another node's service
 * (its certificate does not name it), and a record of an agent older than the peer field.
 */
class FlowRelayTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestEtcd etcd;
    private static Path dir;
    private static PeerCertificates certs;
    private static PeerTls tlsA, tlsB, tlsC, impostorB;
    private static final FakeFlowObserver obsA = new FakeFlowObserver();
    private static final FakeFlowObserver obsB = new FakeFlowObserver();
    private static final FakeFlowObserver obsC = new FakeFlowObserver();
    private static PeerFlowServer serverB, serverC;
    private static PeerClient clientA;
    private static final List<IpcacheSync> syncs = new CopyOnWriteArrayList<>();
    private static final List<LeaseSession> leases = new CopyOnWriteArrayList<>();
    private static IpcacheSync syncA;
    private static ClusterInfo infoA;
    private static final ExecutorService pool = Executors.newCachedThreadPool();

    @BeforeAll
    static void start() throws Exception {
        etcd = TestEtcd.start();
        dir = Files.createTempDirectory("septum-relay-test");
        certs = new PeerCertificates(dir);
        certs.ca("cluster-ca");
        certs.ca("other-ca");
        tlsA = certs.node("cluster-ca", "node-a");
        tlsB = certs.node("cluster-ca", "node-b");
        tlsC = certs.node("cluster-ca", "node-c");
        impostorB = certs.node("other-ca", "node-b");

        // node-a: 1 4 7, node-b: 2 5 8, node-c: 3 6 9 (times in nanoseconds; the relay orders by them)
        for (int i = 0; i < 3; i++) {
            obsA.publish(flow(1 + 3 * i, "node-a"));
            obsB.publish(flow(2 + 3 * i, "node-b"));
            obsC.publish(flow(3 + 3 * i, "node-c"));
        }
        serverB = new PeerFlowServer(new InetSocketAddress("127.0.0.1", 0), tlsB.server(), () -> obsB, JSON,
                new PeerFlowServer.Settings(8, 5_000, 200));
        serverC = new PeerFlowServer(new InetSocketAddress("127.0.0.1", 0), tlsC.server(), () -> obsC, JSON,
                new PeerFlowServer.Settings(8, 5_000, 200));
        int portB = serverB.start().get(10, TimeUnit.SECONDS).getPort();
        int portC = serverC.start().get(10, TimeUnit.SECONDS).getPort();
        clientA = new PeerClient(tlsA.client(), 3_000, 10_000);

        syncA = register("node-a", null);
        register("node-b", "127.0.0.1:" + portB);
        register("node-c", "127.0.0.1:" + portC);
        register("node-down", "127.0.0.1:" + closedPort());
        // registered at node-b's address: node-b's certificate does not name node-e, so node-a must refuse it
        register("node-e", "127.0.0.1:" + portB);
        // an agent older than the peer field wrote this record
        new EtcdClient(EtcdClient.Options.insecure(etcd.endpoint)).put("septum/state/nodes/v1/node-old",
                "{\"name\":\"node-old\",\"addresses\":[],\"cidrs\":[],\"version\":\"0.0.9\",\"startTime\":1}", 0);
        infoA = new ClusterInfo() {
            @Override
            public ClusterStatus status() {
                throw new UnsupportedOperationException();
            }

            @Override
            public List<ClusterNode> nodes() {
                List<ClusterNode> out = new ArrayList<>();
                IpcacheSync.NodeInfo me = syncA.self();
                out.add(new ClusterNode(me.name(), me.addresses(), me.cidrs(), me.version(), me.startTime(), true,
                        "alive", 0, 0, me.peer()));
                for (IpcacheSync.NodeInfo n : syncA.nodes()) {
                    out.add(new ClusterNode(n.name(), n.addresses(), n.cidrs(), n.version(), n.startTime(), false,
                            "alive", 0, 0, n.peer()));
                }
                return out;
            }
        };
        await("node-a sees the other five nodes in etcd", () -> syncA.nodes().size() == 5);
    }

    @AfterAll
    static void stop() throws Exception {
        pool.shutdownNow();
        for (IpcacheSync s : syncs) s.close();
        for (LeaseSession l : leases) l.close();
        if (serverB != null) serverB.close();
        if (serverC != null) serverC.close();
        if (clientA != null) clientA.close();
        if (etcd != null) etcd.close();
        if (dir != null) {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private static IpcacheSync register(String name, String peer) throws Exception {
        EtcdClient client = new EtcdClient(EtcdClient.Options.insecure(etcd.endpoint));
        LeaseSession lease = new LeaseSession(client, 60);
        leases.add(lease);
        IpcacheSync s = new IpcacheSync(client, lease, new IpcacheSync.NodeInfo(name, List.of(), List.of(), "test",
                System.currentTimeMillis(), peer), Runnable::run);
        s.start();
        syncs.add(s);
        return s;
    }

    private static int closedPort() throws IOException {
        return io.septum.testsupport.TestPorts.free(1)[0];
    }

    /** A flow as its node's observer stores it; peers' flows are sent without the name to show the relay sets it. */
    private static Flow flow(long t, String node) {
        Flow f = FlowsApiTest.flow(t, t % 2 == 0 ? Flow.DROPPED : Flow.FORWARDED, "client-" + node, "server", 80);
        return node.equals("node-a") ? f.withNodeName(node) : f;
    }

    private static String nodeOf(long t) {
        return switch ((int) ((t - 1) % 3)) {
            case 0 -> "node-a";
            case 1 -> "node-b";
            default -> "node-c";
        };
    }

    private Relay relay(long windowMillis) {
        return new Relay(() -> obsA, () -> infoA, clientA, "no client", new Relay.Settings(windowMillis, 10_000, 5_000,
                500, 200), pool);
    }

    @Test
    void aFiniteAnswerThroughTheUnixSocketIsEveryNodesFlowsInTimeOrderWithNodeNamesAndNodeReports() throws Exception {
        Path socket = dir.resolve("a.sock");
        Relay relay = relay(1_000);
        ApiServer server = new ApiServer(socket, new ApiRoutes(new ApiServerSocketTest.EmptyBackend() {
            @Override
            public FlowRelay flowRelay() {
                return relay;
            }

            @Override
            public io.septum.api.flow.FlowObserver flowObserver() {
                return obsA;
            }
        }), new MonitorHub(4, 2), new ApiServer.Settings(4, 5_000, null, 200));
        server.start().get(5, TimeUnit.SECONDS);
        try {
            Answer all = Answer.read(UnixClient.get(socket, "/v1/flows?cluster=true&last=0"));
            assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L), all.times(), "every node's flows, by time");
            for (Flow f : all.flows) assertEquals(nodeOf(f.timeNanos()), f.nodeName(), "flow " + f.timeNanos());
            checkReports(all.statuses);

            Answer newest = Answer.read(UnixClient.get(socket, "/v1/flows?cluster=true&last=4"));
            assertEquals(List.of(6L, 7L, 8L, 9L), newest.times(), "the newest 4 of all nodes together");
            Answer dropped = Answer.read(UnixClient.get(socket, "/v1/flows?cluster=true&last=0&verdict=DROPPED"));
            assertEquals(List.of(2L, 4L, 6L, 8L), dropped.times(), "the filter applies on every node");
            String bad = UnixClient.get(socket, "/v1/flows?cluster=true&verdikt=DROPPED");
            assertTrue(bad.startsWith("HTTP/1.1 400 ") && bad.contains("verdikt"), bad);
        } finally {
            server.close();
        }
    }

    /** node-down: refused; node-e: node-b's certificate does not name it; node-old: no peer field. */
    private static void checkReports(List<FlowNodeStatus> statuses) {
        Map<String, FlowNodeStatus> by = new java.util.TreeMap<>();
        statuses.forEach(s -> by.put(s.nodeName(), s));
        assertEquals(List.of("node-down", "node-e", "node-old"), List.copyOf(by.keySet()), statuses.toString());
        assertEquals(FlowNodeStatus.UNREACHABLE, by.get("node-down").state());
        assertTrue(by.get("node-down").message().startsWith("cannot connect to 127.0.0.1:"), by.get("node-down").message());
        assertEquals(FlowNodeStatus.UNREACHABLE, by.get("node-e").state());
        assertTrue(by.get("node-e").message().contains("node-e"), "the certificate check names the node: "
                + by.get("node-e").message());
        assertEquals(FlowNodeStatus.NO_PEER_SERVICE, by.get("node-old").state());
    }

    @Test
    void aFollowedStreamIsMergedInTimeOrderWithinTheWindowAndReportsUnreachableNodes() throws Exception {
        Sink sink = new Sink();
        // the other nodes' first flows come after a TLS handshake each, which a slow machine may take a second for
        Relay relay = relay(5_000);
        FlowQuery q = ApiRoutes.flowQuery(Map.of("last", List.of("3")));
        CompletableFuture<Void> done = CompletableFuture.runAsync(() -> {
            try {
                relay.stream(Map.of("last", List.of("3")), q, true, sink);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, pool);
        try {
            // each node's last 3, all within the window of one another: merged by time
            assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L), sink.times(9));
            // new flows, published out of time order on three nodes at once
            obsB.publish(flow(20, "node-b"));
            obsC.publish(flow(15, "node-c"));
            obsA.publish(flow(18, "node-a"));
            List<Flow> live = sink.flows(3);
            assertEquals(List.of(15L, 18L, 20L), live.stream().map(Flow::timeNanos).toList());
            assertEquals(List.of("node-c", "node-a", "node-b"), live.stream().map(Flow::nodeName).toList());
            await("the three node reports", () -> sink.statuses.size() >= 3);
            checkReports(List.copyOf(sink.statuses).subList(0, 3));
        } finally {
            sink.open = false;
            done.get(10, TimeUnit.SECONDS);
            obsA.flows.removeIf(f -> f.timeNanos() > 9);
            obsB.flows.removeIf(f -> f.timeNanos() > 9);
            obsC.flows.removeIf(f -> f.timeNanos() > 9);
        }
        await("the follow streams on every node end with the client's", () -> obsA.followers.isEmpty()
                && obsB.followers.isEmpty() && obsC.followers.isEmpty());
    }

    @Test
    void aFollowedNodeThatGoesAwayIsReportedTheOthersGoOnAndItComesBackFromWhereItWas() throws Exception {
        FakeFlowObserver obsF = new FakeFlowObserver();
        obsF.publish(FlowsApiTest.flow(100, Flow.FORWARDED, "client-f", "server", 80));
        PeerTls tlsF = certs.node("cluster-ca", "node-f");
        int port = closedPort();
        PeerFlowServer first = new PeerFlowServer(new InetSocketAddress("127.0.0.1", port), tlsF.server(), () -> obsF, JSON,
                new PeerFlowServer.Settings(8, 5_000, 200));
        first.start().get(10, TimeUnit.SECONDS);
        ClusterInfo two = new ClusterInfo() {
            @Override
            public ClusterStatus status() {
                throw new UnsupportedOperationException();
            }

            @Override
            public List<ClusterNode> nodes() {
                return List.of(new ClusterNode("node-a", List.of(), List.of(), "t", 0, true, "alive", 0, 0, null),
                        new ClusterNode("node-f", List.of(), List.of(), "t", 0, false, "alive", 0, 0, "127.0.0.1:" + port));
            }
        };
        Relay relay = new Relay(() -> obsA, () -> two, clientA, "no client", new Relay.Settings(300, 10_000, 5_000, 300, 200), pool);
        Sink sink = new Sink();
        CompletableFuture<Void> done = CompletableFuture.runAsync(() -> {
            try {
                relay.stream(Map.of("last", List.of("1")), ApiRoutes.flowQuery(Map.of("last", List.of("1"))), true, sink);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, pool);
        PeerFlowServer second = null;
        try {
            assertEquals(List.of(7L, 100L), sink.times(2));
            first.close();
            await("node-f reported unreachable", () -> !sink.statuses.isEmpty());
            assertEquals(FlowNodeStatus.UNREACHABLE, sink.statuses.get(0).state());
            assertEquals("node-f", sink.statuses.get(0).nodeName());
            // the others go on, and node-f's flows wait in its own store
            obsA.publish(flow(30, "node-a"));
            assertEquals(List.of(30L), sink.times(1));
            obsF.publish(FlowsApiTest.flow(101, Flow.FORWARDED, "client-f", "server", 80));
            obsF.publish(FlowsApiTest.flow(102, Flow.FORWARDED, "client-f", "server", 80));
            second = new PeerFlowServer(new InetSocketAddress("127.0.0.1", port), tlsF.server(), () -> obsF, JSON,
                    new PeerFlowServer.Settings(8, 5_000, 200));
            second.start().get(10, TimeUnit.SECONDS);
            List<Flow> back = sink.flows(2);
            assertEquals(List.of(101L, 102L), back.stream().map(Flow::timeNanos).toList(), "from just after its last flow");
            assertEquals(List.of("node-f", "node-f"), back.stream().map(Flow::nodeName).toList());
            FlowNodeStatus last = sink.statuses.get(sink.statuses.size() - 1);
            assertEquals(FlowNodeStatus.CONNECTED, last.state(), sink.statuses.toString());
            assertTrue(sink.statuses.stream().filter(x -> x.state().equals(FlowNodeStatus.UNREACHABLE)).count() <= 2,
                    "one failure is reported once (and again only when its reason changes): " + sink.statuses);
        } finally {
            sink.open = false;
            done.get(10, TimeUnit.SECONDS);
            obsA.flows.removeIf(f -> f.timeNanos() > 9);
            first.close();
            if (second != null) second.close();
        }
        assertTrue(sink.flows.isEmpty(), "nothing twice: " + sink.flows);
    }

    @Test
    void theWindowIsBoundedInTimeAndInSize() throws Exception {
        FakeFlowObserver solo = new FakeFlowObserver();
        // standalone (no registry): only this node's flows, through the same merge
        Relay relay = new Relay(() -> solo, null, null, "no client", new Relay.Settings(1_000, 16, 5_000, 500, 200), pool);
        Sink sink = new Sink();
        CompletableFuture<Void> done = CompletableFuture.runAsync(() -> {
            try {
                relay.stream(Map.of(), ApiRoutes.flowQuery(Map.of()), true, sink);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, pool);
        try {
            await("the relay follows", () -> !solo.followers.isEmpty());
            // within the window: ordered
            solo.publish(flow(60, "node-a"));
            solo.publish(flow(55, "node-a"));
            assertEquals(List.of(55L, 60L), sink.times(2));
            // later than the window after a newer one left: shown late, out of order, not held forever
            solo.publish(flow(40, "node-a"));
            assertEquals(List.of(40L), sink.times(1));
            // more than 16 held: each arrival beyond 16 pushes the oldest held out at once (unordered with what
            // comes later), then the window releases the other 16 in order
            for (long t = 1000; t > 980; t--) solo.publish(flow(t, "node-a"));
            assertEquals(List.of(984L, 983L, 982L, 981L), sink.times(4), "the buffer is bounded");
            List<Long> rest = new ArrayList<>();
            for (long t = 985; t <= 1000; t++) rest.add(t);
            assertEquals(rest, sink.times(16));
        } finally {
            sink.open = false;
            done.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void flowsLostForASlowReaderAreReportedPerNode() throws Exception {
        // an observer that never drops on its side, so that every loss is the relay's
        BlockingQueue<Flow> feed = new LinkedBlockingQueue<>();
        io.septum.api.flow.FlowObserver unbounded = new FakeFlowObserver() {
            @Override
            public io.septum.api.flow.FlowSubscription follow(io.septum.api.flow.FlowFilter filter) {
                followers.add(feed);
                return new io.septum.api.flow.FlowSubscription() {
                    @Override
                    public Flow poll(long timeout, TimeUnit unit) throws InterruptedException {
                        return feed.poll(timeout, unit);
                    }

                    @Override
                    public long dropped() {
                        return 0;
                    }

                    @Override
                    public void close() {
                        followers.remove(feed);
                    }
                };
            }
        };
        Relay relay = new Relay(() -> unbounded, null, null, "no client", new Relay.Settings(50, 16, 5_000, 500, 200), pool);
        java.util.concurrent.CountDownLatch reading = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch resume = new java.util.concurrent.CountDownLatch(1);
        Sink slow = new Sink() {
            @Override
            public void flow(Flow f) {
                super.flow(f);
                reading.countDown();
                try {
                    resume.await(); // a reader that stopped reading
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        CompletableFuture<Void> done = CompletableFuture.runAsync(() -> {
            try {
                relay.stream(Map.of(), ApiRoutes.flowQuery(Map.of()), true, slow);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, pool);
        try {
            feed.add(flow(1, "node-a"));
            assertTrue(reading.await(10, TimeUnit.SECONDS));
            for (long t = 2; t <= 5_001; t++) feed.add(flow(t, "node-a"));
            // not only feed::isEmpty: the source's thread may hold the last flow it took, not yet offered
            await("the relay took every flow off its source", () -> feed.isEmpty() && relay.lost() == 904);
            resume.countDown();
            await("the loss reported", () -> !slow.statuses.isEmpty());
            FlowNodeStatus s = slow.statuses.get(0);
            assertEquals(FlowNodeStatus.FLOWS_LOST, s.state());
            assertEquals("node-a", s.nodeName());
            assertTrue(s.message().startsWith("904 flow(s) of this node dropped"), "5000 sent, 4096 queued: " + s.message());
        } finally {
            slow.open = false;
            resume.countDown();
            done.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void thePeerServiceRefusesClientsWithoutACertificateOfTheClusterCa() throws Exception {
        long before = serverB.refusedHandshakes();
        // the control: node-a's certificate gets node-b's flows (so the refusals below are the certificates' doing)
        Result ok = request(clientA);
        assertNull(ok.error, ok.error);
        assertEquals(3, ok.lines.size());

        // no client certificate: refused in the handshake, no HTTP
        try (PeerClient noCert = new PeerClient(SslContextBuilder.forClient().trustManager(tlsA.ca().toFile())
                .sslProvider(SslProvider.JDK).build(), 3_000, 5_000)) {
            Result r = request(noCert);
            assertNotNull(r.error, "a client without a certificate must be refused");
            assertTrue(r.lines.isEmpty());
        }
        await("node-b counted the refusal", () -> serverB.refusedHandshakes() == before + 1);

        // a certificate for the right name, from another CA (and that CA trusts nothing of ours): refused as well
        try (PeerClient other = new PeerClient(SslContextBuilder.forClient().trustManager(tlsA.ca().toFile())
                .keyManager(impostorB.cert().toFile(), impostorB.key().toFile()).sslProvider(SslProvider.JDK).build(),
                3_000, 5_000)) {
            Result r = request(other);
            assertNotNull(r.error, "a certificate of another CA must be refused");
            assertTrue(r.lines.isEmpty());
        }
        await("node-b counted the second refusal", () -> serverB.refusedHandshakes() == before + 2);

        // plaintext HTTP on the peer port gets no answer
        try (Socket s = new Socket("127.0.0.1", serverB.health().message().isEmpty() ? 0 : port(serverB))) {
            s.setSoTimeout(5_000);
            s.getOutputStream().write("GET /v1/flows HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] got = readSome(s.getInputStream());
            assertFalse(new String(got, StandardCharsets.ISO_8859_1).startsWith("HTTP/"), "no HTTP answer without TLS");
        }
        await("node-b counted the plaintext client", () -> serverB.refusedHandshakes() == before + 3);
    }

    private static int port(PeerFlowServer s) {
        String m = s.health().message();
        java.util.regex.Matcher x = java.util.regex.Pattern.compile(":(\\d+) \\(TLS").matcher(m);
        assertTrue(x.find(), m);
        return Integer.parseInt(x.group(1));
    }

    private static byte[] readSome(InputStream in) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            byte[] buf = new byte[256];
            for (int n; (n = in.read(buf)) > 0; ) b.write(buf, 0, n);
        } catch (IOException e) {
            // reset or timeout: nothing more comes
        }
        return b.toByteArray();
    }

    private record Result(String error, List<String> lines) {
    }

    private static Result request(PeerClient client) throws Exception {
        List<String> lines = new CopyOnWriteArrayList<>();
        CompletableFuture<String> end = new CompletableFuture<>();
        client.get("node-b", "127.0.0.1:" + port(serverB), "/v1/flows?last=0", new PeerClient.Listener() {
            @Override
            public void connected() {
            }

            @Override
            public void line(String json) {
                lines.add(json);
            }

            @Override
            public void failed(String message) {
                end.complete(message);
            }

            @Override
            public void ended() {
                end.complete(null);
            }
        });
        return new Result(end.get(15, TimeUnit.SECONDS), lines);
    }

    private static void assertNull(Object o, String message) {
        assertTrue(o == null, message);
    }

    /** What the unix socket answered: flows and node reports, one per line. */
    private record Answer(List<Flow> flows, List<FlowNodeStatus> statuses) {
        static Answer read(String response) throws IOException {
            assertTrue(response.startsWith("HTTP/1.1 200 "), response);
            List<Flow> flows = new ArrayList<>();
            List<FlowNodeStatus> statuses = new ArrayList<>();
            for (String line : dechunk(UnixClient.body(response)).split("\n")) {
                if (line.isBlank()) continue;
                JsonNode n = JSON.readTree(line);
                if (n.has(FlowNodeStatus.KEY)) statuses.add(JSON.treeToValue(n.get(FlowNodeStatus.KEY), FlowNodeStatus.class));
                else flows.add(JSON.treeToValue(n, Flow.class));
            }
            return new Answer(flows, statuses);
        }

        List<Long> times() {
            return flows.stream().map(Flow::timeNanos).toList();
        }
    }

    private static String dechunk(String body) throws IOException {
        return new String(new ChunkedBody(new java.io.ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)))
                .readAllBytes(), StandardCharsets.UTF_8);
    }

    /** Collects a followed stream. */
    private static class Sink implements FlowRelay.Sink {
        final BlockingQueue<Flow> flows = new LinkedBlockingQueue<>();
        final List<FlowNodeStatus> statuses = new CopyOnWriteArrayList<>();
        volatile boolean open = true;

        @Override
        public void flow(Flow f) {
            flows.add(f);
        }

        @Override
        public void status(FlowNodeStatus s) {
            statuses.add(s);
        }

        @Override
        public void idle() {
        }

        @Override
        public boolean open() {
            return open;
        }

        List<Flow> flows(int n) throws InterruptedException {
            List<Flow> out = new ArrayList<>();
            while (out.size() < n) {
                Flow f = flows.poll(15, TimeUnit.SECONDS);
                assertNotNull(f, "only " + out.size() + " of " + n + " flows came: " + out);
                out.add(f);
            }
            return out;
        }

        List<Long> times(int n) throws InterruptedException {
            return flows(n).stream().map(Flow::timeNanos).toList();
        }
    }

    private static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting for " + what);
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }
}
