package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.AgentStatus;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowEndpoint;
import io.septum.api.flow.FlowFilter;
import io.septum.api.flow.FlowIp;
import io.septum.api.flow.FlowL4;
import io.septum.api.flow.FlowObserver;
import io.septum.apiserver.testing.FakeFlowObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /v1/flows} and the flow figures of {@code /v1/status}, over a real socket, with a fake observer. */
class FlowsApiTest {
    @TempDir
    Path dir;
    private Path socket;
    private ApiServer server;
    private final FakeFlowObserver observer = new FakeFlowObserver();
    private final ObjectMapper mapper = new ObjectMapper();

    static Flow flow(long t, String verdict, String src, String dst, int dport) {
        return new Flow(null, t, verdict, Flow.DROPPED.equals(verdict) ? 133 : 0,
                Flow.DROPPED.equals(verdict) ? "POLICY_DENIED" : null, new FlowIp("10.199.16.4", "10.199.16.1", "IPv4"),
                new FlowL4("TCP", 40000, dport, List.of("SYN")),
                new FlowEndpoint(4, 258, "default", src, List.of("netns:class=" + src)),
                new FlowEndpoint(1, 256, "default", dst, List.of("netns:class=deathstar")), "L3_L4",
                Flow.DROPPED.equals(verdict) ? Flow.TYPE_DROP : Flow.TYPE_POLICY_VERDICT, "INGRESS", Flow.TO_ENDPOINT,
                Flow.MATCH_NONE, 1, 0, null, "default deny: no rule allows", false, null);
    }

    @BeforeEach
    void start() throws Exception {
        socket = dir.resolve("septum.sock");
        Backend backend = new ApiServerSocketTest.EmptyBackend() {
            @Override
            public FlowObserver flowObserver() {
                return observer;
            }
        };
        server = new ApiServer(socket, new ApiRoutes(backend), new MonitorHub(4, 2),
                new ApiServer.Settings(4, 2_000, null, 100));
        server.start().get(5, TimeUnit.SECONDS);
        observer.publish(flow(1, Flow.FORWARDED, "tiefighter", "deathstar-1", 80));
        observer.publish(flow(2, Flow.DROPPED, "xwing", "deathstar-1", 80));
        observer.publish(flow(3, Flow.DROPPED, "xwing", "deathstar-2", 80));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private String get(String path) throws IOException {
        return UnixClient.get(socket, path);
    }

    private static String body(String response) {
        return UnixClient.body(response);
    }

    @Test
    void queryFiltersAndKeepsTheLastN() throws Exception {
        String r = get("/v1/flows?verdict=DROPPED&from-endpoint=xwing&from-label=class%3Dxwing&last=1");
        assertTrue(r.startsWith("HTTP/1.1 200 "), r);
        Flow[] flows = mapper.readValue(body(r), Flow[].class);
        assertEquals(1, flows.length);
        assertEquals(3, flows[0].timeNanos());
        assertEquals("default/deathstar-2", flows[0].destination().qualifiedName());
        assertTrue(body(r).contains("\"drop_reason_desc\":\"POLICY_DENIED\""), r);
        assertTrue(body(r).contains("\"traffic_direction\":\"INGRESS\""), r);
        FlowFilter f = observer.filters.get(observer.filters.size() - 1);
        assertEquals(List.of("class=xwing"), f.fromLabel());

        assertEquals(3, mapper.readValue(body(get("/v1/flows")), Flow[].class).length);
        assertEquals(0, mapper.readValue(body(get("/v1/flows?since=1h&until=" + Long.MAX_VALUE + "&port=443")), Flow[].class).length);
    }

    @Test
    void badFiltersAre400sThatSayWhy() throws Exception {
        String r = get("/v1/flows?verdikt=DROPPED");
        assertTrue(r.startsWith("HTTP/1.1 400 "), r);
        assertTrue(r.contains("unknown flow filter \\\"verdikt\\\""), r);
        r = get("/v1/flows?type=dropped");
        assertTrue(r.startsWith("HTTP/1.1 400 ") && r.contains("policy-verdict"), r);
        r = get("/v1/flows?since=yesterday");
        assertTrue(r.startsWith("HTTP/1.1 400 ") && r.contains("RFC 3339"), r);
        r = get("/v1/flows?follow=true&port=x");
        assertTrue(r.startsWith("HTTP/1.1 400 "), r);
    }

    @Test
    void followSendsTheBacklogThenNewFlowsAsLines() throws Exception {
        try (SocketChannel c = UnixClient.connect(socket)) {
            UnixClient.send(c, "GET /v1/flows?follow=true&verdict=DROPPED&last=1 HTTP/1.1\r\n\r\n");
            InputStream in = Channels.newInputStream(c);
            String head = ChunkedBody.readUntil(in, "\r\n\r\n");
            assertTrue(head.startsWith("HTTP/1.1 200 ") && head.contains("application/x-ndjson"), head);
            assertTrue(head.contains("Transfer-Encoding: chunked"), head);
            in = new ChunkedBody(in);
            Flow backlog = mapper.readValue(ChunkedBody.readUntil(in, "}\n"), Flow.class);
            assertEquals(3, backlog.timeNanos());
            observer.publish(flow(4, Flow.FORWARDED, "tiefighter", "deathstar-1", 80)); // filtered out
            observer.publish(flow(5, Flow.DROPPED, "xwing", "deathstar-1", 80));
            Flow next = mapper.readValue(ChunkedBody.readUntil(in, "}\n").strip(), Flow.class);
            assertEquals(5, next.timeNanos());
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!observer.followers.isEmpty() && System.nanoTime() < end) TimeUnit.MILLISECONDS.sleep(20);
        assertTrue(observer.followers.isEmpty(), "the subscription ends with the client");
    }

    @Test
    void statusCarriesTheFlowFigures() throws Exception {
        AgentStatus s = mapper.readValue(body(get("/v1/status")), AgentStatus.class);
        assertEquals(3, s.flows().currentFlows());
        assertEquals(8192, s.flows().maxFlows());
        assertEquals(3, s.flows().lostEvents());
        String text = io.septum.view.Views.status(s);
        assertTrue(text.contains("Current/Max Flows:  3/8192 (0.04%)"), text);
        assertTrue(text.contains("Flows/s:            0.50"), text);
    }
}
