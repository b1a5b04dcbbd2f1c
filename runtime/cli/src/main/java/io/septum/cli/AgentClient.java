package io.septum.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.septum.api.policy.ValidationError;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.net.StandardProtocolFamily;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A small HTTP/1.1 client for the agent's REST API on its unix domain socket. One connection per request
 * ({@code Connection: close}), JSON bodies through Jackson, YAML policy text sent as is.
 *
 * <p>Every method throws {@link AgentException}: with the HTTP status and the agent's {@code error} (and
 * validation {@code errors}) on a non-2xx answer, or with status {@link AgentException#UNREACHABLE} and the
 * message {@code cannot reach the agent at SOCKET (is 'septum agent' running?)} when nothing listens.
 *
 * <p>Paths are absolute API paths such as {@code /v1/endpoints}; use {@link #segment(String)} to put a name
 * (e.g. {@code default/deathstar}) into one path segment.
 */
public final class AgentClient {
    /** Where the agent listens unless {@code --socket} or {@code SEPTUM_SOCKET} says otherwise. */
    public static final String DEFAULT_SOCKET = "/run/septum/septum.sock";
    /** Environment variable naming the socket. */
    public static final String SOCKET_ENV = "SEPTUM_SOCKET";

    private static final int MAX_HEADER_BYTES = 64 * 1024;

    /** How long one request may take unless the caller says otherwise. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private final Path socket;
    private final ObjectMapper mapper;
    private final Duration timeout;
    private ScheduledExecutorService timer;

    public AgentClient(Path socket) {
        this(socket, DEFAULT_TIMEOUT);
    }

    /** @param timeout how long a request (not a stream) may take before the client gives up with status 504 */
    public AgentClient(Path socket, Duration timeout) {
        this.socket = socket;
        this.mapper = newMapper();
        this.timeout = timeout;
    }

    private synchronized ScheduledExecutorService timer() {
        if (timer == null) {
            timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "septum-cli-timeout");
                t.setDaemon(true);
                return t;
            });
        }
        return timer;
    }

    /** The socket named by {@code SEPTUM_SOCKET}, else {@link #DEFAULT_SOCKET}. */
    public static AgentClient fromEnvironment() {
        String env = System.getenv(SOCKET_ENV);
        return new AgentClient(Path.of(env == null || env.isBlank() ? DEFAULT_SOCKET : env));
    }

    /** The mapper used for bodies: records supported, unknown properties ignored (newer agents may add fields). */
    public static ObjectMapper newMapper() {
        return new ObjectMapper()
                .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
                .configure(SerializationFeature.FAIL_ON_EMPTY_BEANS, false);
    }

    public Path socket() {
        return socket;
    }

    public ObjectMapper mapper() {
        return mapper;
    }

    /** URL-encodes one path segment, so that {@code ns/name} stays one segment. */
    public static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    // ---- typed calls -------------------------------------------------------------------------------------

    public <T> T get(String path, Class<T> type) {
        return read(send("GET", path, null, null, null), mapper.constructType(type));
    }

    public <T> T get(String path, TypeReference<T> type) {
        return read(send("GET", path, null, null, null), mapper.constructType(type));
    }

    public <T> T get(String path, JavaType type) {
        return read(send("GET", path, null, null, null), type);
    }

    /** POSTs {@code body} as JSON. Returns null when the agent answers without a body (e.g. 204). */
    public <T> T post(String path, Object body, Class<T> type) {
        return read(send("POST", path, json(body), "application/json", null), mapper.constructType(type));
    }

    public <T> T post(String path, Object body, TypeReference<T> type) {
        return read(send("POST", path, json(body), "application/json", null), mapper.constructType(type));
    }

    /** POSTs YAML text unchanged ({@code application/yaml}), with {@code origin} as {@code X-Septum-Origin}. */
    public <T> T post(String path, String yamlBody, String origin, Class<T> type) {
        Map<String, String> headers = new LinkedHashMap<>();
        if (origin != null) headers.put("X-Septum-Origin", origin);
        return read(send("POST", path, yamlBody.getBytes(StandardCharsets.UTF_8), "application/yaml", headers),
                mapper.constructType(type));
    }

    public <T> T post(String path, String yamlBody, String origin, TypeReference<T> type) {
        Map<String, String> headers = new LinkedHashMap<>();
        if (origin != null) headers.put("X-Septum-Origin", origin);
        return read(send("POST", path, yamlBody.getBytes(StandardCharsets.UTF_8), "application/yaml", headers),
                mapper.constructType(type));
    }

    /** PUTs {@code body} as JSON; the answer is ignored. */
    public void put(String path, Object body) {
        send("PUT", path, json(body), "application/json", null);
    }

    public <T> T put(String path, Object body, Class<T> type) {
        return read(send("PUT", path, json(body), "application/json", null), mapper.constructType(type));
    }

    public void delete(String path) {
        send("DELETE", path, null, null, null);
    }

    public <T> T delete(String path, Class<T> type) {
        return read(send("DELETE", path, null, null, null), mapper.constructType(type));
    }

    /**
     * Reads a streaming answer line by line (e.g. {@code /v1/monitor}, one JSON event per line) and hands each
     * non-empty line to {@code line} as it arrives. Returns when the agent closes the stream; interrupt the calling
     * thread, or throw from {@code line}, to stop earlier.
     */
    public void stream(String path, Consumer<String> line) {
        SocketChannel ch = connect();
        Thread caller = Thread.currentThread();
        // A thread blocked in a channel read is woken by interrupt (the channel closes): that is how callers stop.
        try (ch) {
            writeRequest(ch, "GET", path, null, null, null);
            InputStream in = new BufferedInputStream(Channels.newInputStream(ch));
            Response head = readHead(in);
            if (head.status / 100 != 2) {
                throw failure(head.status, readBody(in, head));
            }
            InputStream body = head.chunked ? new ChunkedInputStream(in) : in;
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int c;
            while ((c = body.read()) >= 0) {
                if (c == '\n') {
                    String s = buf.toString(StandardCharsets.UTF_8).strip();
                    buf.reset();
                    if (!s.isEmpty()) line.accept(s);
                } else {
                    buf.write(c);
                }
            }
            String rest = buf.toString(StandardCharsets.UTF_8).strip();
            if (!rest.isEmpty()) line.accept(rest);
        } catch (IOException e) {
            if (caller.isInterrupted()) return;
            throw new AgentException(500, "the stream from the agent broke: " + e.getMessage(), e);
        }
    }

    // ---- raw exchange ------------------------------------------------------------------------------------

    /** A raw answer: status, lower-case header names, body bytes. */
    public record Response(int status, Map<String, String> headers, byte[] body, boolean chunked) {
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /**
     * Sends one request and returns the answer, whatever its status. Throws only when the agent is unreachable,
     * the connection breaks, or no answer comes within the timeout (status 504).
     */
    public Response exchange(String method, String path, byte[] body, String contentType, Map<String, String> headers) {
        SocketChannel ch = connect();
        AtomicBoolean timedOut = new AtomicBoolean();
        ScheduledFuture<?> deadline = timer().schedule(() -> {
            timedOut.set(true);
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing is all the timeout does
            }
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        try (ch) {
            IOException writeFailure = null;
            try {
                writeRequest(ch, method, path, body, contentType, headers);
            } catch (IOException e) {
                // the agent may refuse a request before reading all of it (e.g. 413): its answer is still there
                writeFailure = e;
            }
            InputStream in = new BufferedInputStream(Channels.newInputStream(ch));
            Response head;
            try {
                head = readHead(in);
            } catch (IOException e) {
                if (writeFailure != null) e.addSuppressed(writeFailure);
                throw e;
            }
            return new Response(head.status, head.headers, readBody(in, head), false);
        } catch (IOException e) {
            if (timedOut.get()) {
                throw new AgentException(504, "the agent at " + socket + " did not answer " + method + " " + path
                        + " within " + (timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + " s" : timeout.toMillis() + " ms")
                        + " (is it overloaded or stuck? see its log)", e);
            }
            throw new AgentException(AgentException.UNREACHABLE,
                    "the connection to the agent at " + socket + " broke: " + e.getMessage(), e);
        } finally {
            deadline.cancel(false);
        }
    }

    private Response send(String method, String path, byte[] body, String contentType, Map<String, String> headers) {
        Response r = exchange(method, path, body, contentType, headers);
        if (r.status / 100 != 2) throw failure(r.status, r.body);
        return r;
    }

    private <T> T read(Response r, JavaType type) {
        if (r.body.length == 0 || r.status == 204) return null;
        try {
            return mapper.readValue(r.body, type);
        } catch (IOException e) {
            throw new AgentException(r.status, "the agent's answer is not a " + type.toCanonical() + ": "
                    + e.getMessage(), e);
        }
    }

    private byte[] json(Object body) {
        try {
            return mapper.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private AgentException failure(int status, byte[] body) {
        String message = null;
        List<ValidationError> errors = List.of();
        try {
            JsonNode n = mapper.readTree(body);
            if (n != null && n.hasNonNull("error")) message = n.get("error").asText();
            if (n != null && n.has("errors") && n.get("errors").isArray()) {
                errors = mapper.convertValue(n.get("errors"), new TypeReference<List<ValidationError>>() { });
            }
        } catch (IOException | IllegalArgumentException e) {
            // not JSON: fall back to the raw text below
        }
        if (message == null) {
            String text = new String(body, StandardCharsets.UTF_8).strip();
            message = text.isEmpty() ? "the agent answered HTTP " + status : text;
        }
        return new AgentException(status, message, errors);
    }

    private SocketChannel connect() {
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(socket));
            return ch;
        } catch (IOException | UnsupportedOperationException e) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // nothing more to release
                }
            }
            throw new AgentException(AgentException.UNREACHABLE,
                    "cannot reach the agent at " + socket + " (is 'septum agent' running?)", e);
        }
    }

    private static void writeRequest(SocketChannel ch, String method, String path, byte[] body, String contentType,
                                     Map<String, String> headers) throws IOException {
        StringBuilder h = new StringBuilder();
        h.append(method).append(' ').append(path).append(" HTTP/1.1\r\n");
        h.append("Host: septum\r\n");
        h.append("User-Agent: septum-cli\r\n");
        h.append("Accept: application/json\r\n");
        h.append("Connection: close\r\n");
        if (headers != null) {
            for (Map.Entry<String, String> e : headers.entrySet()) {
                // header values must not smuggle line breaks
                h.append(e.getKey()).append(": ").append(e.getValue().replaceAll("[\\r\\n]", " ")).append("\r\n");
            }
        }
        if (body != null) {
            if (contentType != null) h.append("Content-Type: ").append(contentType).append("\r\n");
            h.append("Content-Length: ").append(body.length).append("\r\n");
        } else if (!"GET".equals(method) && !"DELETE".equals(method)) {
            h.append("Content-Length: 0\r\n");
        }
        h.append("\r\n");
        writeFully(ch, ByteBuffer.wrap(h.toString().getBytes(StandardCharsets.UTF_8)));
        if (body != null) writeFully(ch, ByteBuffer.wrap(body));
    }

    private static void writeFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static Response readHead(InputStream in) throws IOException {
        String statusLine = readLine(in);
        if (statusLine == null) throw new IOException("the agent closed the connection without answering");
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP answer: " + statusLine);
        }
        int status;
        try {
            status = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new IOException("bad HTTP status line: " + statusLine);
        }
        Map<String, String> headers = new LinkedHashMap<>();
        String line;
        while ((line = readLine(in)) != null && !line.isEmpty()) {
            int colon = line.indexOf(':');
            if (colon > 0) headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        boolean chunked = headers.getOrDefault("transfer-encoding", "").toLowerCase(Locale.ROOT).contains("chunked");
        return new Response(status, headers, new byte[0], chunked);
    }

    private static byte[] readBody(InputStream in, Response head) throws IOException {
        if (head.chunked) return new ChunkedInputStream(in).readAllBytes();
        String length = head.headers.get("content-length");
        if (length != null) {
            int n;
            try {
                n = Integer.parseInt(length);
            } catch (NumberFormatException e) {
                throw new IOException("bad Content-Length from the agent: " + length);
            }
            return in.readNBytes(n);
        }
        return in.readAllBytes();
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        int total = 0;
        while ((c = in.read()) >= 0) {
            if (c == '\n') break;
            if (++total > MAX_HEADER_BYTES) throw new IOException("the agent's answer has too long a header line");
            b.write(c);
        }
        if (c < 0 && b.size() == 0) return null;
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    /** Decodes {@code Transfer-Encoding: chunked}. */
    private static final class ChunkedInputStream extends InputStream {
        private final InputStream in;
        private long left;
        private boolean done;

        ChunkedInputStream(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            if (!ensure()) return -1;
            int c = in.read();
            if (c >= 0) left--;
            return c;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) return 0;
            if (!ensure()) return -1;
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n > 0) left -= n;
            return n;
        }

        private boolean ensure() throws IOException {
            if (done) return false;
            if (left > 0) return true;
            String size = readLine(in);
            if (size != null && size.isEmpty()) size = readLine(in); // CRLF after the previous chunk
            if (size == null) {
                done = true;
                return false;
            }
            int semi = size.indexOf(';');
            try {
                left = Long.parseLong((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
            } catch (NumberFormatException e) {
                throw new IOException("bad chunk size from the agent: " + size);
            }
            if (left == 0) {
                done = true;
                return false;
            }
            return true;
        }
    }

    @Override
    public String toString() {
        return "AgentClient[" + socket + "]";
    }

    /** Lists helper for callers that want a {@code List<T>} without writing a TypeReference. */
    public <T> List<T> list(String path, Class<T> element) {
        List<T> out = get(path, mapper.getTypeFactory().constructCollectionType(List.class, element));
        return out == null ? new ArrayList<>() : out;
    }
}
