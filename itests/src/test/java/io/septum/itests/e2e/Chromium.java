package io.septum.itests.e2e;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.testsupport.TestFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * Debian's headless Chromium driven over the DevTools protocol (a WebSocket from the JDK's own client): navigate,
 * evaluate JavaScript in the page, take screenshots. Every call is bounded in time; {@link #close()} kills the
 * browser and removes its profile.
 */
final class Chromium implements AutoCloseable {
    private static final Duration CALL = Duration.ofSeconds(30);
    private static final Pattern LISTENING = Pattern.compile("DevTools listening on (ws://\\S+)");

    private final Process process;
    private final Path profile;
    private final WebSocket ws;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final List<String> console = java.util.Collections.synchronizedList(new ArrayList<>());

    /** The browser binary: {@code -Dseptum.chromium}, else chromium or chromium-browser on the PATH. */
    static Optional<Path> find() {
        List<Path> candidates = new ArrayList<>();
        String p = System.getProperty("septum.chromium");
        if (p != null && !p.isBlank()) candidates.add(Path.of(p));
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            candidates.add(Path.of(dir, "chromium"));
            candidates.add(Path.of(dir, "chromium-browser"));
        }
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    /** The browser, or a skip with the reason (a failure when {@code -Dseptum.e2e.required=true}). */
    static Path require() {
        Optional<Path> bin = find();
        if (bin.isEmpty()) {
            String msg = "headless Chromium is not installed (apt-get install chromium, or -Dseptum.chromium=PATH): "
                    + "the web UI's browser test cannot run";
            if (Boolean.getBoolean("septum.e2e.required")) fail(msg + " (-Dseptum.e2e.required=true)");
            Assumptions.assumeTrue(false, msg);
        }
        return bin.get();
    }

    Chromium(Path binary, int width, int height) throws IOException, InterruptedException {
        profile = Files.createTempDirectory("sept-t-chromium-");
        process = new ProcessBuilder(binary.toString(), "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--user-data-dir=" + profile, "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1", "--remote-allow-origins=*",
                "--window-size=" + width + "," + height, "about:blank")
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .start();
        try {
            String browserWs = awaitListening();
            URI browser = URI.create(browserWs);
            // the page that about:blank opened: its own WebSocket (Page and Runtime domains live on the page target)
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String pageWs = null;
            long deadline = System.nanoTime() + CALL.toNanos();
            while (pageWs == null && System.nanoTime() < deadline) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("http://" + browser.getHost() + ":" + browser.getPort() + "/json/list"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                for (JsonNode t : E2eSupport.JSON.readTree(r.body())) {
                    if ("page".equals(t.path("type").asText())) pageWs = t.path("webSocketDebuggerUrl").asText(null);
                }
                if (pageWs == null) TimeUnit.MILLISECONDS.sleep(100);
            }
            if (pageWs == null) throw new IOException("Chromium shows no page target");
            ws = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10))
                    .buildAsync(URI.create(pageWs), new Listener()).get(15, TimeUnit.SECONDS);
            call("Page.enable", null);
            call("Runtime.enable", null);
        } catch (IOException | InterruptedException | RuntimeException | ExecutionException | TimeoutException e) {
            close();
            throw new IOException("cannot drive Chromium " + binary + ": " + e, e);
        }
    }

    /** Reads Chromium's output until it names its DevTools endpoint; the rest of the output is drained. */
    private String awaitListening() throws IOException, InterruptedException {
        CompletableFuture<String> url = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) url.complete(m.group(1));
                }
            } catch (IOException ignored) {
                // the browser went away
            }
            url.completeExceptionally(new IOException("Chromium exited without a DevTools endpoint"));
        }, "sept-t-chromium-out");
        reader.setDaemon(true);
        reader.start();
        try {
            return url.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IOException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("Chromium named no DevTools endpoint within 30 s");
        }
    }

    /** One DevTools command; its {@code result}, or an error with the browser's message. */
    JsonNode call(String method, ObjectNode params) {
        int id = ids.incrementAndGet();
        ObjectNode msg = E2eSupport.JSON.createObjectNode();
        msg.put("id", id);
        msg.put("method", method);
        if (params != null) msg.set("params", params);
        CompletableFuture<JsonNode> f = new CompletableFuture<>();
        pending.put(id, f);
        try {
            ws.sendText(msg.toString(), true).get(CALL.toSeconds(), TimeUnit.SECONDS);
            JsonNode answer = f.get(CALL.toSeconds(), TimeUnit.SECONDS);
            if (answer.has("error")) throw new AssertionError(method + " failed: " + answer.get("error"));
            return answer.path("result");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted during " + method, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new AssertionError(method + " got no answer within " + CALL.toSeconds() + " s: " + e, e);
        } finally {
            pending.remove(id);
        }
    }

    void navigate(String url) {
        ObjectNode p = E2eSupport.JSON.createObjectNode();
        p.put("url", url);
        JsonNode r = call("Page.navigate", p);
        if (r.hasNonNull("errorText")) throw new AssertionError("cannot open " + url + ": " + r.get("errorText"));
    }

    /** Evaluates {@code expression} in the page and returns its value (JSON); page exceptions are errors. */
    JsonNode eval(String expression) {
        ObjectNode p = E2eSupport.JSON.createObjectNode();
        p.put("expression", expression);
        p.put("returnByValue", true);
        p.put("awaitPromise", true);
        JsonNode r = call("Runtime.evaluate", p);
        if (r.has("exceptionDetails")) throw new AssertionError("page error in " + expression + ": " + r.get("exceptionDetails"));
        return r.path("result").path("value");
    }

    /** A PNG of the whole page as it is now. */
    void screenshot(Path file) throws IOException {
        ObjectNode p = E2eSupport.JSON.createObjectNode();
        p.put("format", "png");
        p.put("captureBeyondViewport", true);
        JsonNode r = call("Page.captureScreenshot", p);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, Base64.getDecoder().decode(r.path("data").asText()));
    }

    /** The page's console messages and exceptions so far, for failure messages. */
    List<String> console() {
        synchronized (console) {
            return List.copyOf(console);
        }
    }

    @Override
    public void close() {
        if (ws != null) ws.abort();
        E2eNet.kill(process, Duration.ofSeconds(10));
        TestFiles.deleteTree(profile);
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                String text = partial.toString();
                partial.setLength(0);
                try {
                    JsonNode m = E2eSupport.JSON.readTree(text);
                    if (m.has("id")) {
                        CompletableFuture<JsonNode> f = pending.get(m.get("id").asInt());
                        if (f != null) f.complete(m);
                    } else if ("Runtime.consoleAPICalled".equals(m.path("method").asText())) {
                        console.add(m.path("params").path("type").asText() + ": " + m.path("params").path("args"));
                    } else if ("Runtime.exceptionThrown".equals(m.path("method").asText())) {
                        console.add("exception: " + m.path("params").path("exceptionDetails"));
                    }
                } catch (IOException e) {
                    console.add("unreadable DevTools message: " + e.getMessage());
                }
            }
            webSocket.request(1);
            return null;
        }
    }
}
