package io.septum.webui.internal;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowSubscription;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The HTTP side of the UI: the bundled front-end (resources under {@code /webui/} in this bundle), the JSON API
 * ({@link UiApi}) and {@code /api/stream}, flows as server-sent events. Each stream holds one thread of a bounded
 * pool for as long as the page is open, so streams are limited; requests whose {@code Host} is not a loopback
 * name are refused (a foreign page that rebinds its DNS name to 127.0.0.1 cannot read the API).
 */
final class WebUiServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WebUiServer.class.getName());
    private static final int MAX_BODY = 1 << 20;
    private static final long KEEPALIVE_MILLIS = 5_000;
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8",
            "txt", "text/plain; charset=utf-8", "svg", "image/svg+xml", "png", "image/png", "json", "application/json");

    private final InetSocketAddress address;
    private final UiApi api;
    private final int maxStreams;
    private final AtomicInteger streams = new AtomicInteger();
    private final Set<FlowSubscription> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;
    private HttpServer server;
    private ExecutorService executor;

    WebUiServer(InetSocketAddress address, UiApi api, int maxStreams) {
        this.address = address;
        this.api = api;
        this.maxStreams = maxStreams;
    }

    /** Binds and serves; throws when the address cannot be bound (in use, not local). */
    synchronized void start() throws IOException {
        HttpServer s = HttpServer.create(address, 64);
        AtomicInteger n = new AtomicInteger();
        // streams hold their thread; a few more serve pages and API calls while every stream is open
        ThreadPoolExecutor pool = new ThreadPoolExecutor(maxStreams + 4, maxStreams + 4, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(256), r -> {
                    Thread t = new Thread(r, "septum-webui-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        s.setExecutor(pool);
        s.createContext("/", this::handle);
        s.start();
        server = s;
        executor = pool;
    }

    /** The bound address (the port is the real one when 0 was configured). */
    synchronized InetSocketAddress boundAddress() {
        return server == null ? null : server.getAddress();
    }

    int streams() {
        return streams.get();
    }

    @Override
    public synchronized void close() {
        closing = true;
        for (FlowSubscription sub : List.copyOf(open)) sub.close();
        if (server != null) server.stop(0);
        if (executor != null) executor.shutdownNow();
        server = null;
    }

    private void handle(HttpExchange ex) {
        try {
            Headers h = ex.getResponseHeaders();
            h.set("X-Content-Type-Options", "nosniff");
            h.set("X-Frame-Options", "DENY");
            h.set("Referrer-Policy", "no-referrer");
            h.set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:");
            if (!LoopbackAddress.hostAllowed(ex.getRequestHeaders().getFirst("Host"))) {
                send(ex, api.error(403, "Host \"" + ex.getRequestHeaders().getFirst("Host")
                        + "\" is not this loopback server; open the UI as http://127.0.0.1:PORT/ or http://localhost:PORT/"));
                return;
            }
            String path = ex.getRequestURI().getRawPath();
            String method = ex.getRequestMethod();
            if (path.equals("/api/stream")) {
                stream(ex, method);
            } else if (path.startsWith("/api/")) {
                send(ex, api.handle(method, path, query(ex.getRequestURI().getRawQuery()), body(ex)));
            } else {
                file(ex, method, path);
            }
        } catch (UiException e) {
            try {
                send(ex, api.error(e.status(), e.getMessage()));
            } catch (IOException ignored) {
                // the client went away
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "web UI client went away: " + e);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "web UI request failed", e);
        } finally {
            ex.close();
        }
    }

    private static void send(HttpExchange ex, UiApi.Answer a) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(a.status(), a.body().length);
        ex.getResponseBody().write(a.body());
    }

    private void file(HttpExchange ex, String method, String path) throws IOException {
        if (!method.equals("GET") && !method.equals("HEAD")) {
            send(ex, api.error(405, "method " + method + " not allowed here (allowed: GET)"));
            return;
        }
        String name = path.equals("/") ? "index.html" : path.substring(1);
        byte[] bytes = null;
        if (name.matches("[A-Za-z0-9_-][A-Za-z0-9._-]*")) {
            try (InputStream in = WebUiServer.class.getResourceAsStream("/webui/" + name)) {
                if (in != null) bytes = in.readAllBytes();
            }
        }
        if (bytes == null) {
            send(ex, api.error(404, "no such page: " + path));
            return;
        }
        String ext = name.substring(name.lastIndexOf('.') + 1);
        ex.getResponseHeaders().set("Content-Type", TYPES.getOrDefault(ext, "application/octet-stream"));
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        if (method.equals("HEAD")) {
            ex.sendResponseHeaders(200, -1);
            return;
        }
        ex.sendResponseHeaders(200, bytes.length);
        ex.getResponseBody().write(bytes);
    }

    /**
     * Server-sent events: the last N matching flows, then each new one, as {@code data: <Flow JSON>}; a comment
     * line every 5 s keeps proxies and the browser from timing out an idle stream. The subscription starts before
     * the backlog is read, so that no flow falls between them; a flow in both is sent once.
     */
    private void stream(HttpExchange ex, String method) throws IOException {
        if (!method.equals("GET")) throw new UiException(405, "method " + method + " not allowed here (allowed: GET)");
        FlowQuery q = FlowQuery.parse(query(ex.getRequestURI().getRawQuery()), UiApi.DEFAULT_LAST);
        if (streams.incrementAndGet() > maxStreams) {
            streams.decrementAndGet();
            throw new UiException(503, "too many live streams (" + maxStreams + "); close another UI tab or raise maxStreams");
        }
        FlowSubscription sub = null;
        try {
            sub = api.backend().flowObserver().follow(q.filter());
            open.add(sub);
            if (closing) return;
            List<Flow> backlog = api.backend().flowObserver().query(q.filter(), q.last());
            long newest = backlog.isEmpty() ? Long.MIN_VALUE : backlog.get(backlog.size() - 1).timeNanos();
            Set<Flow> atNewest = new HashSet<>();
            for (Flow f : backlog) if (f.timeNanos() == newest) atNewest.add(f);
            Headers h = ex.getResponseHeaders();
            h.set("Content-Type", "text/event-stream; charset=utf-8");
            h.set("Cache-Control", "no-store");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            out.write(": septum flows\n\n".getBytes(StandardCharsets.UTF_8));
            for (Flow f : backlog) write(out, f);
            out.write("event: backlog-done\ndata: {}\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            while (!closing) {
                Flow f = sub.poll(KEEPALIVE_MILLIS, TimeUnit.MILLISECONDS);
                if (f == null) {
                    out.write(": keepalive\n\n".getBytes(StandardCharsets.UTF_8));
                } else {
                    if (f.timeNanos() < newest || (f.timeNanos() == newest && atNewest.contains(f))) continue;
                    write(out, f);
                }
                out.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (sub != null) {
                open.remove(sub);
                sub.close();
            }
            streams.decrementAndGet();
        }
    }

    private void write(OutputStream out, Flow f) throws IOException {
        out.write("data: ".getBytes(StandardCharsets.UTF_8));
        out.write(api.mapper().writeValueAsBytes(f)); // JSON has no raw newline: one data line
        out.write("\n\n".getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] body(HttpExchange ex) throws IOException {
        try (InputStream in = ex.getRequestBody()) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) >= 0) {
                b.write(buf, 0, n);
                if (b.size() > MAX_BODY) throw new UiException(413, "request body over " + MAX_BODY + " bytes");
            }
            return b.toByteArray();
        }
    }

    /** {@code a=1&b=2&b=3}, URL-decoded; a key without {@code =} has an empty value. */
    static Map<String, List<String>> query(String raw) {
        Map<String, List<String>> q = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) return q;
        for (String part : raw.split("&")) {
            if (part.isEmpty()) continue;
            int eq = part.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
            q.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        }
        return q;
    }
}
