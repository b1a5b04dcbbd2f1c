package io.septum.apiserver.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HttpRequestReaderTest {
    private final HttpRequestReader reader = new HttpRequestReader(1024, 10, 100);

    private HttpRequest read(String raw) throws IOException {
        return reader.read(new ByteArrayInputStream(raw.getBytes(StandardCharsets.ISO_8859_1)));
    }

    private int status(String raw) {
        return assertThrows(HttpException.class, () -> read(raw)).status();
    }

    @Test
    void readsGetWithoutBody() throws IOException {
        HttpRequest r = read("GET /v1/status HTTP/1.1\r\nHost: septum\r\nAccept: application/json\r\n\r\n");
        assertEquals("GET", r.method());
        assertEquals("/v1/status", r.rawPath());
        assertEquals("septum", r.header("Host"));
        assertEquals(0, r.body().length);
    }

    @Test
    void readsBodyByContentLengthAndLeavesTheRest() throws IOException {
        ByteArrayInputStream in = new ByteArrayInputStream(
                "POST /v1/policies HTTP/1.1\r\nContent-Length: 5\r\nX-Septum-Origin: a.yaml\r\n\r\nhelloEXTRA"
                        .getBytes(StandardCharsets.ISO_8859_1));
        HttpRequest r = reader.read(in);
        assertArrayEquals("hello".getBytes(StandardCharsets.US_ASCII), r.body());
        assertEquals("a.yaml", r.header("x-septum-origin"));
        assertEquals("EXTRA", new String(in.readAllBytes(), StandardCharsets.US_ASCII));
    }

    @Test
    void toleratesBareLfAndLeadingEmptyLine() throws IOException {
        HttpRequest r = read("\r\nGET /v1/endpoints HTTP/1.0\nHost: x\n\n");
        assertEquals("/v1/endpoints", r.rawPath());
        assertEquals("HTTP/1.0", r.version());
    }

    @Test
    void decodesEncodedSlashInsideOneSegment() throws IOException {
        HttpRequest r = read("GET /v1/endpoints/default%2Fdeath%20star?x=1 HTTP/1.1\r\n\r\n");
        assertEquals(List.of("v1", "endpoints", "default/death star"), r.segments());
    }

    @Test
    void plusInPathIsLiteral() throws IOException {
        assertEquals(List.of("v1", "a+b"), read("GET /v1/a+b HTTP/1.1\r\n\r\n").segments());
    }

    @Test
    void emptyConnectionIsNull() throws IOException {
        assertNull(read(""));
    }

    @Test
    void repeatedHeadersAreJoined() throws IOException {
        assertEquals("a, b", read("GET / HTTP/1.1\r\nX-A: a\r\nX-A: b\r\n\r\n").header("x-a"));
    }

    @Test
    void identicalRepeatedContentLengthIsAccepted() throws IOException {
        assertEquals(2, read("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok").body().length);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "GET /v1/status\r\n\r\n",                       // no version
            "GET  /v1/status HTTP/1.1\r\n\r\n",             // double space
            "GET v1/status HTTP/1.1\r\n\r\n",               // not origin-form
            "GET http://x/v1/status HTTP/1.1\r\n\r\n",      // absolute-form
            "G(T /v1/status HTTP/1.1\r\n\r\n",              // method not a token
            "GET /v1/st\u0001atus HTTP/1.1\r\n\r\n",        // control char in target
            "GET /v1/status FOO/1.1\r\n\r\n",               // not HTTP
            "GET /v1/status HTTP/1.1\r\nHost x\r\n\r\n",    // header without colon
            "GET /v1/status HTTP/1.1\r\n: x\r\n\r\n",       // empty header name
            "GET /v1/status HTTP/1.1\r\nHost : x\r\n\r\n",  // space before colon
            "GET /v1/status HTTP/1.1\r\nA: b\r\n c\r\n\r\n",  // obs-fold
            "GET /v1/status HTTP/1.1\r\nA: b\rc\r\n\r\n",   // bare CR
            "GET /v1/status HTTP/1.1\r\nA: b\u0000\r\n\r\n", // NUL
            "GET /v1/status HTTP/1.1\r\nA: b\u0007c\r\n\r\n", // control char in value
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello",
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",   // body ends early
            "GET /v1/status HTTP/1.1\r\nHost: x\r\n",       // headers never end
    })
    void refusesMalformedRequestsWith400(String raw) {
        assertEquals(400, status(raw));
    }

    @Test
    void refusesChunkedBodiesWith501() {
        assertEquals(501, status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
    }

    @Test
    void refusesOtherVersionsWith505() {
        assertEquals(505, status("GET / HTTP/2.0\r\n\r\n"));
    }

    @Test
    void refusesTooLargeBodyWith413BeforeReadingIt() {
        assertEquals(413, status("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n"));
        assertEquals(413, status("POST / HTTP/1.1\r\nContent-Length: 99999999999999999\r\n\r\n"));
    }

    @Test
    void refusesTooLargeHeadersWith431() {
        assertEquals(431, status("GET / HTTP/1.1\r\nX: " + "a".repeat(2000) + "\r\n\r\n"));
        assertEquals(431, status("GET /" + "a".repeat(2000) + " HTTP/1.1\r\n\r\n"));
        StringBuilder many = new StringBuilder("GET / HTTP/1.1\r\n");
        for (int i = 0; i < 11; i++) many.append("X-").append(i).append(": v\r\n");
        assertEquals(431, status(many.append("\r\n").toString()));
    }

    @Test
    void truncatedRequestLineIsAnIoError() {
        assertThrows(EOFException.class, () -> read("GET /v1/sta"));
    }

    @Test
    void encodedGarbageInPathIs400() throws IOException {
        HttpRequest r = read("GET /v1/endpoints/%zz HTTP/1.1\r\n\r\n");
        HttpException e = assertThrows(HttpException.class, r::segments);
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("%zz"));
    }
}
