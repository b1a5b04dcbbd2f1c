package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The request rules of the API (what RequestGuard and Netty's decoder refuse), sent as raw bytes over the socket. */
class RequestGuardSocketTest {
    @TempDir
    Path dir;
    private Path socket;
    private ApiServer server;

    @BeforeEach
    void start() throws Exception {
        socket = dir.resolve("septum.sock");
        server = new ApiServer(socket, new ApiRoutes(new ApiServerSocketTest.EmptyBackend()),
                new MonitorHub(4, 2), new ApiServer.Settings(4, 2_000, null, 100));
        server.start().get(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private int status(String raw) throws IOException {
        String r = UnixClient.exchange(socket, raw);
        assertTrue(r.startsWith("HTTP/1.1 "), r);
        return Integer.parseInt(r.substring(9, 12));
    }

    @Test
    void aClientThatShutsItsSideAfterTheRequestStillGetsTheAnswer() throws IOException {
        try (SocketChannel c = UnixClient.connect(socket)) {
            UnixClient.send(c, "GET /v1/status HTTP/1.1\r\n\r\n");
            c.shutdownOutput(); // as socat or nc -N do
            String r = UnixClient.readAll(c);
            assertTrue(r.startsWith("HTTP/1.1 200 OK\r\n"), r);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "GET /v1/status\r\n\r\n",                       // no version
            "GET v1/status HTTP/1.1\r\n\r\n",               // not origin-form
            "GET http://x/v1/status HTTP/1.1\r\n\r\n",      // absolute-form
            "G(T /v1/status HTTP/1.1\r\n\r\n",              // method not a token
            "GET /v1/st\u0001atus HTTP/1.1\r\n\r\n",        // control char in target
            "GET /v1/status FOO/1.1\r\n\r\n",               // not HTTP
            "GET /v1/status HTTP/1.1\r\nHost x\r\n\r\n",    // header without colon
            "GET /v1/status HTTP/1.1\r\n: x\r\n\r\n",       // empty header name
            "GET /v1/status HTTP/1.1\r\nHost : x\r\n\r\n",  // space before colon
            "GET /v1/status HTTP/1.1\r\nA: b\u0000\r\n\r\n", // NUL
            "GET /v1/status HTTP/1.1\r\nA: b\u0007c\r\n\r\n", // control char in value
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello",
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    })
    void refusesMalformedRequestsWith400(String raw) throws IOException {
        assertEquals(400, status(raw));
    }

    /** Answers other than 400: the status and a request that gets it. */
    static Stream<Arguments> answers() {
        return Stream.of(
                arguments(200, "\r\nGET /v1/status HTTP/1.0\nHost: x\n\n"), // bare LF, leading empty line, HTTP/1.0
                arguments(404, "POST /v2/x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"), // one length, repeated
                arguments(501, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), // chunked bodies
                arguments(505, "GET / HTTP/2.0\r\n\r\n"), // other versions
                arguments(413, "POST / HTTP/1.1\r\nContent-Length: 16777217\r\n\r\n"), // too large a body, before reading it
                arguments(413, "POST / HTTP/1.1\r\nContent-Length: 99999999999999999\r\n\r\n"));
    }

    @ParameterizedTest
    @MethodSource("answers")
    void answersWithTheStatusOfItsRule(int expected, String raw) throws IOException {
        assertEquals(expected, status(raw));
    }

    @Test
    void refusesTooLargeHeadersWith431() throws IOException {
        assertEquals(431, status("GET / HTTP/1.1\r\nX: " + "a".repeat(70_000) + "\r\n\r\n"));
        assertEquals(431, status("GET /" + "a".repeat(70_000) + " HTTP/1.1\r\n\r\n"));
        StringBuilder many = new StringBuilder("GET / HTTP/1.1\r\n");
        for (int i = 0; i < 101; i++) many.append("X-").append(i).append(": v\r\n");
        assertEquals(431, status(many.append("\r\n").toString()));
    }

    @Test
    void encodedSlashStaysInsideOneSegmentAndGarbageIs400() throws IOException {
        String r = UnixClient.exchange(socket, "GET /v1/endpoints/%zz HTTP/1.1\r\n\r\n");
        assertTrue(r.startsWith("HTTP/1.1 400 ") && r.contains("%zz"), r);
    }
}
