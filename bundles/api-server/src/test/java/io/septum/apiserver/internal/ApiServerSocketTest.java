package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.ComponentStatus;
import io.septum.api.EndpointManager;
import io.septum.api.IdentityAllocator;
import io.septum.api.datapath.Datapath;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.policy.PolicyEngine;
import io.septum.api.policy.PolicyRepository;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server over a real unix socket with raw bytes: what a hostile or broken client can and cannot do. */
class ApiServerSocketTest {
    @TempDir
    Path dir;
    private Path socket;
    private ApiServer server;
    private MonitorHub hub;
    private final List<SocketChannel> clients = new ArrayList<>();

    /** A backend with no services at all: the agent while everything is down. */
    static class EmptyBackend implements Backend {
        public EndpointManager endpointManager() { throw Backend.unavailable("the endpoint manager"); }
        public IdentityAllocator identityAllocator() { throw Backend.unavailable("the identity allocator"); }
        public PolicyRepository policyRepository() { throw Backend.unavailable("the policy repository"); }
        public PolicyEngine policyEngine() { throw Backend.unavailable("the policy engine"); }
        public Datapath datapath() { throw Backend.unavailable("the datapath"); }
        public List<ComponentStatus> health() { return List.of(ComponentStatus.ok("fake", "fine")); }
        public OptionalLong readySince() { return OptionalLong.empty(); }
        public long startedAt() { return System.currentTimeMillis() - 1000; }
        public String version() { return "test"; }
        /** The api-server's own line, as its component reports it to the status service. */
        volatile java.util.function.Supplier<ComponentStatus> self = () -> null;

        @Override
        public io.septum.api.AgentStatusService statusService() {
            return TestStatus.of(this, () -> {
                List<ComponentStatus> all = new ArrayList<>(health());
                all.add(self.get());
                return all;
            });
        }
    }

    @BeforeEach
    void start() throws Exception {
        socket = dir.resolve("run/septum.sock");
        server = newServer(socket, new ApiServer.Settings(3, 500, null, 100));
        server.start().get(5, TimeUnit.SECONDS);
    }

    private ApiServer newServer(Path path, ApiServer.Settings settings) {
        hub = new MonitorHub(4, 2);
        EmptyBackend backend = new EmptyBackend();
        ApiServer s = new ApiServer(path, new ApiRoutes(backend), hub, settings);
        backend.self = s::health;
        return s;
    }

    @AfterEach
    void stop() {
        for (SocketChannel c : clients) {
            try {
                c.close();
            } catch (IOException ignored) {
                // already closed
            }
        }
        server.close();
    }

    /** A connection the test may leave open: closed after the test. */
    private SocketChannel connect() throws IOException {
        SocketChannel c = UnixClient.connect(socket);
        clients.add(c);
        return c;
    }

    private String exchange(String raw) throws IOException {
        return UnixClient.exchange(socket, raw);
    }

    /** POSTs {@code body} (ASCII) to {@code path}; the raw response. */
    private String post(String path, String body) throws IOException {
        return exchange("POST " + path + " HTTP/1.1\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
    }

    /** Asserts that a raw response has {@code status} and contains each of {@code parts}. */
    private static void assertResponse(String r, int status, String... parts) {
        assertTrue(r.startsWith("HTTP/1.1 " + status + " "), r);
        for (String p : parts) assertTrue(r.contains(p), r);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting for " + what);
            TimeUnit.MILLISECONDS.sleep(10);
        }
    }

    @Test
    void socketIsCreatedWithMode0660InANewRunDir() throws IOException {
        assertTrue(Files.exists(socket));
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
    }

    @Test
    void statusAnswersWhileEveryServiceIsDown() throws IOException {
        String r = exchange("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(r.startsWith("HTTP/1.1 200 OK\r\n"), r);
        assertTrue(r.contains("Connection: close"), r);
        assertTrue(r.contains("\"ready\":false"), r);
        assertTrue(r.contains("\"startToReadyMillis\":-1"), r);
        assertTrue(r.contains("{\"name\":\"datapath\",\"state\":\"failed\",\"message\":\"not running\"}"), r);
        assertTrue(r.contains("\"name\":\"api-server\",\"state\":\"ok\""), r);
    }

    @Test
    void traceReadsLabelsAsTheConsoleDoesAndRefusesNoneBeforeAskingTheRepository() throws IOException {
        String body = "{\"src\": [\" , \"], \"dst\": [\"class=deathstar\"], \"port\": 80}";
        assertResponse(post("/v1/policy/trace", body), 400, "no labels given (e.g. k8s:org=empire,class=tiefighter)");
    }

    @Test
    void anHttpTraceWithABadRequestIs400() throws IOException {
        String body = "{\"src\": [\"org=empire\"], \"dst\": [\"class=deathstar\"], \"port\": 80, "
                + "\"http\": {\"method\": \"PUT\", \"path\": \"v1\"}}";
        assertResponse(post("/v1/policy/trace", body), 400, "http.path \\\"v1\\\" must start with /");
        body = "{\"src\": [\"org=empire\"], \"dst\": [\"class=deathstar\"], \"port\": 53, \"protocol\": \"UDP\", "
                + "\"http\": {\"method\": \"GET\"}}";
        assertResponse(post("/v1/policy/trace", body), 400, "an HTTP trace needs protocol TCP");
    }

    @Test
    void missingServiceIs503WithItsName() throws IOException {
        assertResponse(exchange("GET /v1/endpoints HTTP/1.1\r\n\r\n"), 503, "{\"error\":\"the endpoint manager is not running");
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405() throws IOException {
        assertTrue(exchange("GET /v2/x HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 404 "));
        assertTrue(exchange("DELETE /v1/status HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 405 "));
    }

    @Test
    void malformedRequestGets400AsJson() throws IOException {
        assertResponse(exchange("GET /v1/status HTTP/1.1\r\nBad Header\r\n\r\n"), 400, "\"error\":\"malformed header field");
    }

    @Test
    void oversizedBodyGets413() throws IOException {
        assertResponse(exchange("POST /v1/policies HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n"), 413);
    }

    @Test
    void slowClientIsDisconnectedAfterTheDeadline() throws Exception {
        SocketChannel c = connect();
        UnixClient.send(c, "GET /v1/sta");
        long start = System.nanoTime();
        // the server closes the connection: reading sees end of stream
        int n = c.read(ByteBuffer.allocate(16));
        assertEquals(-1, n);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
    }

    @Test
    void connectionsBeyondThePoolGet503AndOthersStillWork() throws Exception {
        // a deadline long enough that a loaded machine still sends the fourth request before it expires
        server.close();
        server = newServer(socket, new ApiServer.Settings(3, 2_500, null, 100));
        server.start().get(5, TimeUnit.SECONDS);
        List<SocketChannel> idle = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            SocketChannel c = connect();
            UnixClient.send(c, "GET /v1/st");
            idle.add(c);
        }
        String r = exchange("GET /v1/status HTTP/1.1\r\n\r\n");
        assertTrue(r.startsWith("HTTP/1.1 503 "), r);
        assertTrue(server.refused() >= 1);
        // once the idle ones are cut by the deadline, the server answers again
        await(() -> {
            try {
                return exchange("GET /v1/status HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 200 ");
            } catch (IOException e) {
                return false;
            }
        }, "the pool to free up");
    }

    @Test
    void monitorStreamsEventsAsLinesAndHeartbeats() throws Exception {
        SocketChannel c = connect();
        UnixClient.send(c, "GET /v1/monitor HTTP/1.1\r\n\r\n");
        InputStream in = Channels.newInputStream(c);
        String head = ChunkedBody.readUntil(in, "\r\n\r\n");
        assertTrue(head.startsWith("HTTP/1.1 200 "), head);
        assertTrue(head.contains("application/x-ndjson"), head);
        assertFalse(head.toLowerCase().contains("content-length"), head);
        assertTrue(head.contains("Transfer-Encoding: chunked"), head);
        in = new ChunkedBody(in);
        await(() -> hub.subscribers() == 1, "the subscription");
        hub.publish(new DatapathEvent(1L, "drop", 7, "INGRESS", "DROPPED", 133, "10.199.0.2", 40000, 300,
                "10.199.0.3", 80, 301, "TCP", 0, 2, false, 11));
        String line = ChunkedBody.readUntil(in, "}\n").strip();
        assertTrue(line.startsWith("{\"timestampNanos\":1,\"type\":\"drop\""), line);
        assertTrue(line.contains("\"dropReason\":133"), line);
        c.close();
        // the heartbeat notices the client left and frees its subscription
        await(() -> hub.subscribers() == 0, "the subscription to end");
    }

    @Test
    void slowMonitorClientLosesEventsWithoutBlockingThePublisher() throws Exception {
        SocketChannel c = connect();
        UnixClient.send(c, "GET /v1/monitor HTTP/1.1\r\n\r\n");
        await(() -> hub.subscribers() == 1, "the subscription");
        long start = System.nanoTime();
        for (int i = 0; i < 200_000; i++) {
            hub.publish(new DatapathEvent(i, "drop", 7, "INGRESS", "DROPPED", 133, "10.199.0.2", 40000, 300,
                    "10.199.0.3", 80, 301, "TCP", 0, 2, false, 11));
        }
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "publishing must never wait");
        assertTrue(hub.dropped() > 0);
    }

    @Test
    void staleSocketFileIsReplacedButALiveOneIsNot() throws Exception {
        server.close();
        Files.createFile(socket);
        server = newServer(socket, ApiServer.Settings.defaults());
        server.start().get(5, TimeUnit.SECONDS);
        assertTrue(exchange("GET /v1/status HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 200 "));

        ApiServer second = newServer(socket, ApiServer.Settings.defaults());
        try {
            ExecutionException e = assertThrows(ExecutionException.class, () -> second.start().get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("another process is listening"), e.getCause().getMessage());
        } finally {
            second.close();
        }
        // the first server is untouched
        assertTrue(exchange("GET /v1/status HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 200 "));
    }

    @Test
    void closeRemovesTheSocket() {
        server.close();
        assertFalse(Files.exists(socket));
    }
}
