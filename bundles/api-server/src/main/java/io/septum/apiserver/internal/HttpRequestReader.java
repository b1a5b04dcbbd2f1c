package io.septum.apiserver.internal;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reads one HTTP/1.1 request strictly enough that nothing ambiguous reaches the routes: a request line of
 * method, origin-form target and version; header fields without folding; a body only by {@code Content-Length}.
 * Violations become {@link HttpException}s with the status to answer: 400 (malformed), 413 (body too large),
 * 431 (header section too large), 501 (transfer codings), 505 (HTTP version).
 *
 * <p>Chunked request bodies are refused rather than decoded: the CLI always sends a length, and a request with
 * both {@code Transfer-Encoding} and {@code Content-Length} is the classic smuggling shape.
 */
public final class HttpRequestReader {
    private final int maxHeaderBytes;
    private final int maxHeaders;
    private final long maxBodyBytes;

    public HttpRequestReader(int maxHeaderBytes, int maxHeaders, long maxBodyBytes) {
        this.maxHeaderBytes = maxHeaderBytes;
        this.maxHeaders = maxHeaders;
        this.maxBodyBytes = maxBodyBytes;
    }

    /** 64 KiB of request line and headers, 100 header fields, 16 MiB of body. */
    public static HttpRequestReader defaults() {
        return new HttpRequestReader(64 * 1024, 100, 16L * 1024 * 1024);
    }

    /**
     * Reads one request.
     *
     * @return the request, or null when the peer closed the connection before sending anything
     * @throws HttpException for a request to refuse
     * @throws IOException   when the connection broke
     */
    public HttpRequest read(InputStream in) throws IOException {
        int[] budget = {maxHeaderBytes};
        String requestLine = line(in, budget, true);
        // RFC 9112 2.2: ignore at least one empty line before the request line
        for (int i = 0; requestLine != null && requestLine.isEmpty() && i < 4; i++) requestLine = line(in, budget, true);
        if (requestLine == null) return null;
        if (requestLine.isEmpty()) throw new HttpException(400, "empty request line");

        String[] parts = requestLine.split(" ", -1);
        if (parts.length != 3) {
            throw new HttpException(400, "malformed request line (expected METHOD SP /path SP HTTP/1.1)");
        }
        String method = parts[0];
        String target = parts[1];
        String version = parts[2];
        if (method.isEmpty() || !isToken(method)) throw new HttpException(400, "malformed method");
        if (!version.startsWith("HTTP/")) throw new HttpException(400, "malformed HTTP version \"" + printable(version) + "\"");
        if (!version.equals("HTTP/1.1") && !version.equals("HTTP/1.0")) {
            throw new HttpException(505, "HTTP version " + printable(version) + " not supported (use HTTP/1.1)");
        }
        if (!target.startsWith("/") || !isTargetChars(target)) {
            throw new HttpException(400, "malformed request target (expected an absolute path such as /v1/status)");
        }

        Map<String, String> headers = new LinkedHashMap<>();
        int count = 0;
        String line;
        while (true) {
            line = line(in, budget, false);
            if (line == null) throw new HttpException(400, "connection closed inside the header section");
            if (line.isEmpty()) break;
            if (++count > maxHeaders) throw new HttpException(431, "more than " + maxHeaders + " header fields");
            char first = line.charAt(0);
            if (first == ' ' || first == '\t') throw new HttpException(400, "obsolete header line folding is not accepted");
            int colon = line.indexOf(':');
            if (colon <= 0) throw new HttpException(400, "malformed header field (expected Name: value)");
            String name = line.substring(0, colon);
            if (!isToken(name)) throw new HttpException(400, "malformed header name \"" + printable(name) + "\"");
            String value = line.substring(colon + 1).strip();
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if ((c < 0x20 && c != '\t') || c == 0x7f) throw new HttpException(400, "control character in header " + name);
            }
            String key = name.toLowerCase(Locale.ROOT);
            if (key.equals("content-length") && headers.containsKey(key) && !headers.get(key).equals(value)) {
                throw new HttpException(400, "conflicting Content-Length headers");
            }
            headers.merge(key, value, (a, b) -> key.equals("content-length") ? a : a + ", " + b);
        }

        if (headers.containsKey("transfer-encoding")) {
            if (headers.containsKey("content-length")) {
                throw new HttpException(400, "both Transfer-Encoding and Content-Length: refused");
            }
            throw new HttpException(501, "Transfer-Encoding is not supported for requests; send Content-Length");
        }
        long length = 0;
        String cl = headers.get("content-length");
        if (cl != null) {
            if (cl.isEmpty() || cl.length() > 18 || !cl.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new HttpException(400, "malformed Content-Length \"" + printable(cl) + "\"");
            }
            length = Long.parseLong(cl);
        }
        if (length > maxBodyBytes) {
            throw new HttpException(413, "request body of " + length + " bytes exceeds the limit of " + maxBodyBytes + " bytes");
        }
        byte[] body = in.readNBytes((int) length);
        if (body.length < length) {
            throw new HttpException(400, "request body ended after " + body.length + " of " + length + " bytes");
        }
        return new HttpRequest(method, target, version, headers, body);
    }

    /** One line without its CRLF (a bare LF is tolerated, a bare CR is not); null at end of stream before any byte. */
    private String line(InputStream in, int[] budget, boolean requestLine) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(128);
        boolean cr = false;
        while (true) {
            int c = in.read();
            if (c < 0) {
                if (b.size() == 0 && !cr) return requestLine ? null : null;
                throw new EOFException("connection closed in the middle of a line");
            }
            if (--budget[0] < 0) {
                throw new HttpException(431, "request line and headers exceed " + maxHeaderBytes + " bytes");
            }
            if (c == '\n') break;
            if (cr) throw new HttpException(400, "bare CR in the header section");
            if (c == '\r') {
                cr = true;
                continue;
            }
            if (c == 0) throw new HttpException(400, "NUL byte in the header section");
            b.write(c);
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    private static boolean isToken(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!ok) return false;
        }
        return !s.isEmpty();
    }

    private static boolean isTargetChars(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= 0x20 || c >= 0x7f) return false;
        }
        return true;
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < 64; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }
}
