package io.septum.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.septum.api.policy.ValidationError;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The HTTP/1.1 client for the agent's REST API on its unix domain socket, on Netty (the agent's own HTTP stack):
 * {@code EpollDomainSocketChannel} + {@code HttpClientCodec}, with an aggregator for ordinary calls and a
 * line-by-line handler for streams. One connection per request ({@code Connection: close}), JSON bodies through
 * Jackson, YAML policy text sent as is.
 *
 * <p>Every method throws {@link AgentException}: with the HTTP status and the agent's {@code error} (and
 * validation {@code errors}) on a non-2xx answer, or with status {@link AgentException#UNREACHABLE} and the
 * message {@code cannot reach the agent at SOCKET (is 'septum agent' running?)} when nothing listens.
 *
 * <p>Paths are absolute API paths such as {@code /v1/endpoints}; use {@link #segment(String)} to put a name
 * (e.g. {@code default/deathstar}) into one path segment.
 */
public final class AgentClient implements AutoCloseable {
    /** How long a stream may stay silent: the agent's heartbeats come far more often. */
    static final long STREAM_SILENCE_SECONDS = 60;
    /** Where the agent listens unless {@code --socket} or {@code SEPTUM_SOCKET} says otherwise. */
    public static final String DEFAULT_SOCKET = "/run/septum/septum.sock";
    /** Environment variable naming the socket. */
    public static final String SOCKET_ENV = "SEPTUM_SOCKET";

    private static final int MAX_HEADER_BYTES = 64 * 1024;
    /** The largest answer read whole (flows of a full ring, every policy): far above what the agent sends. */
    private static final int MAX_ANSWER_BYTES = 512 * 1024 * 1024;

    /** How long one request may take unless the caller says otherwise. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private final Path socket;
    private final ObjectMapper mapper;
    private final Duration timeout;
    private EventLoopGroup loop;

    public AgentClient(Path socket) {
        this(socket, DEFAULT_TIMEOUT);
    }

    /** @param timeout how long a request (not a stream) may take before the client gives up with status 504 */
    public AgentClient(Path socket, Duration timeout) {
        this.socket = socket;
        this.mapper = newMapper();
        this.timeout = timeout;
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
     * non-empty line to {@code line} as it arrives, on the calling thread. Returns when the agent ends the stream;
     * interrupt the calling thread, or throw from {@code line}, to stop earlier.
     */
    public void stream(String path, Consumer<String> line) {
        BlockingQueue<Object> pieces = new LinkedBlockingQueue<>();
        Channel ch = connect(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel c) {
                c.config().setAutoRead(false); // read as the caller takes: a slow consumer slows the socket, not memory
                c.pipeline().addLast(new HttpClientCodec(MAX_HEADER_BYTES, MAX_HEADER_BYTES, 64 * 1024))
                        .addLast(new Collector(pieces));
            }
        });
        try {
            ch.writeAndFlush(request("GET", path, null, null, null));
            ch.read();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int status = 0;
            while (true) {
                // the agent sends a heartbeat on an idle stream (every few seconds): a minute of nothing is a wedged agent
                Object p = pieces.poll(STREAM_SILENCE_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
                if (p == null) {
                    throw new AgentException(504, "the agent sent nothing for " + STREAM_SILENCE_SECONDS
                            + " s (not even a heartbeat): is it stopped or stuck?", List.of());
                }
                if (pieces.isEmpty()) ch.read();
                if (p instanceof Throwable t) {
                    throw new AgentException(500, "the stream from the agent broke: " + t.getMessage(), t);
                }
                if (p instanceof io.netty.handler.codec.http.HttpResponse head) {
                    status = head.status().code();
                }
                if (p instanceof HttpContent c) {
                    try {
                        ByteBuf b = c.content();
                        while (b.isReadable()) {
                            byte x = b.readByte();
                            if (x == '\n' && status / 100 == 2) {
                                String s = buf.toString(StandardCharsets.UTF_8).strip();
                                buf.reset();
                                if (!s.isEmpty()) line.accept(s);
                            } else {
                                buf.write(x);
                            }
                        }
                    } finally {
                        c.release();
                    }
                }
                if (p == END || p instanceof LastHttpContent) break;
            }
            if (status != 0 && status / 100 != 2) throw failure(status, buf.toByteArray());
            if (status == 0) throw new AgentException(500, "the stream from the agent broke: the agent closed the connection without answering", List.of());
            String rest = buf.toString(StandardCharsets.UTF_8).strip();
            if (!rest.isEmpty()) line.accept(rest);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the caller stops the stream this way: not an error
        } finally {
            ch.close();
            for (Object p; (p = pieces.poll()) != null; ) ReferenceCountUtil.release(p);
        }
    }

    private static final Object END = new Object();

    /** Hands what the stream's connection reads to the calling thread. */
    private static final class Collector extends ChannelInboundHandlerAdapter {
        private final BlockingQueue<Object> pieces;

        Collector(BlockingQueue<Object> pieces) {
            this.pieces = pieces;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            pieces.add(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            pieces.add(END);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            pieces.add(cause);
            ctx.close();
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
        CompletableFuture<Response> answer = new CompletableFuture<>();
        Channel ch = connect(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel c) {
                c.pipeline().addLast(new HttpClientCodec(MAX_HEADER_BYTES, MAX_HEADER_BYTES, 64 * 1024))
                        .addLast(new HttpObjectAggregator(MAX_ANSWER_BYTES))
                        .addLast(new SimpleChannelInboundHandler<FullHttpResponse>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
                                Map<String, String> h = new LinkedHashMap<>();
                                r.headers().forEach(e -> h.put(e.getKey().toLowerCase(Locale.ROOT), e.getValue()));
                                byte[] b = new byte[r.content().readableBytes()];
                                r.content().getBytes(r.content().readerIndex(), b);
                                answer.complete(new Response(r.status().code(), h, b, false));
                                ctx.close();
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                answer.completeExceptionally(new IOException("the agent closed the connection without answering"));
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                // a failed write (the agent refused the request before reading all of it) is not
                                // the end: its answer may still be read; a broken read is
                                if (!(cause instanceof IOException)) answer.completeExceptionally(cause);
                                ctx.close();
                            }
                        });
            }
        });
        try {
            // the agent may refuse a request before reading all of it (e.g. 413): its answer is still read
            ch.writeAndFlush(request(method, path, body, contentType, headers));
            return answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AgentException(504, "the agent at " + socket + " did not answer " + method + " " + path
                    + " within " + (timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + " s" : timeout.toMillis() + " ms")
                    + " (is it overloaded or stuck? see its log)", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw new AgentException(AgentException.UNREACHABLE,
                    "the connection to the agent at " + socket + " broke: " + cause.getMessage(), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException(AgentException.UNREACHABLE, "interrupted while waiting for the agent at " + socket, e);
        } finally {
            ch.close();
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

    /** One connection to the agent's socket over Netty's epoll transport (the agent's own HTTP stack). */
    private Channel connect(ChannelInitializer<Channel> init) {
        // nothing at the path: said at once, without starting Netty's transport (a fifth of a second of a CLI run)
        if (!Files.exists(socket)) throw unreachable(null);
        try {
            if (!Epoll.isAvailable()) throw new IOException("Netty's epoll transport is not available: " + Epoll.unavailabilityCause());
            return new Bootstrap().group(loop()).channel(EpollDomainSocketChannel.class).handler(init)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
                    .connect(new DomainSocketAddress(socket.toString())).sync().channel();
        } catch (Exception e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            throw unreachable(e);
        }
    }

    private AgentException unreachable(Exception cause) {
        return new AgentException(AgentException.UNREACHABLE,
                "cannot reach the agent at " + socket + " (is 'septum agent' running?)", cause);
    }

    /**
     * Stops the client's I/O thread, if it started one. A JVM that exits while that thread waits in epoll waits
     * 300 ms for it first (HotSpot's exit lets threads in native code finish), so the CLI closes its client before
     * it exits.
     */
    @Override
    public synchronized void close() {
        if (loop != null) {
            loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(1, TimeUnit.SECONDS);
            loop = null;
        }
    }

    private synchronized EventLoopGroup loop() {
        if (loop == null) loop = new EpollEventLoopGroup(1, new DefaultThreadFactory("septum-cli-io", true));
        return loop;
    }

    private static FullHttpRequest request(String method, String path, byte[] body, String contentType,
                                           Map<String, String> headers) {
        FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method), path,
                body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        HttpHeaders h = r.headers();
        h.set("Host", "septum");
        h.set("User-Agent", "septum-cli");
        h.set("Accept", "application/json");
        h.set("Connection", "close");
        if (headers != null) {
            // header values must not smuggle line breaks
            headers.forEach((k, v) -> h.set(k, v.replaceAll("[\\r\\n]", " ")));
        }
        if (body != null) {
            if (contentType != null) h.set("Content-Type", contentType);
            h.set("Content-Length", body.length);
        } else if (!"GET".equals(method) && !"DELETE".equals(method)) {
            h.set("Content-Length", 0);
        }
        return r;
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
