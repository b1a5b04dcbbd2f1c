package io.septum.kvstore.etcd.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * etcd v3 over its JSON gRPC gateway ({@code /v3/*}, etcd 3.4+): {@code java.net.http} and Jackson, no gRPC.
 *
 * <p>Keys and values are UTF-8 strings here (base64 on the wire). Several endpoints are tried in order; the one
 * that answered last is tried first. A plain {@code http://} endpoint is refused unless {@code allowInsecure} is set.
 */
public final class EtcdClient implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EtcdClient.class.getName());
    private static final Base64.Encoder B64 = Base64.getEncoder();
    private static final Base64.Decoder B64D = Base64.getDecoder();

    /**
     * Connection settings. {@code tls} gives the TLS context for each new connection (followed files: a rotated
     * certificate is used from the next connection on); null: the JVM's default trust store is used for https.
     * {@code credentials} null when etcd's authentication is off (or the client certificate's CN is the user).
     */
    public record Options(List<URI> endpoints, Supplier<SSLContext> tls, boolean allowInsecure, Duration requestTimeout,
                          Credentials credentials) {
        public Options {
            endpoints = List.copyOf(endpoints);
            requestTimeout = requestTimeout == null ? Duration.ofSeconds(5) : requestTimeout;
        }

        /** With one fixed context ({@code ssl} may be null). */
        public Options(List<URI> endpoints, SSLContext ssl, boolean allowInsecure, Duration requestTimeout,
                       Credentials credentials) {
            this(endpoints, ssl == null ? null : () -> ssl, allowInsecure, requestTimeout, credentials);
        }

        public Options(List<URI> endpoints, SSLContext ssl, boolean allowInsecure, Duration requestTimeout) {
            this(endpoints, ssl, allowInsecure, requestTimeout, null);
        }

        public static Options insecure(URI endpoint) {
            return new Options(List.of(endpoint), null, true, null);
        }

        public Options withCredentials(Credentials c) {
            return new Options(endpoints, tls, allowInsecure, requestTimeout, c);
        }
    }

    /** An etcd user (etcd's authentication: {@code /v3/auth/authenticate} gives a token sent with every request). */
    public record Credentials(String user, String password) {
        public Credentials {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(password, "password");
            if (user.isBlank()) throw new IllegalArgumentException("the etcd user name is empty");
            if (password.isEmpty()) throw new IllegalArgumentException("the password of etcd user " + user + " is empty");
        }

        @Override
        public String toString() {
            return "Credentials[user=" + user + "]"; // never the password
        }
    }

    /** One key as etcd returns it. */
    public record KeyValue(String key, String value, long createRevision, long modRevision, long version, long lease) {
    }

    /** The keys found and the store revision the read was served at. */
    public record RangeResult(long revision, List<KeyValue> kvs) {
        public KeyValue first() {
            return kvs.isEmpty() ? null : kvs.get(0);
        }
    }

    /** A txn comparison: {@code target} is VERSION, CREATE, MOD, VALUE or LEASE; {@code result} EQUAL, GREATER, LESS, NOT_EQUAL. */
    public record Compare(String key, String rangeEnd, String target, String result, Object operand) {
        public static Compare createRevision(String key, String result, long rev) {
            return new Compare(key, null, "CREATE", result, rev);
        }

        /** True when no key of the prefix exists (etcd compares an empty range against a zero key). */
        public static Compare prefixAbsent(String prefix) {
            return new Compare(prefix, prefixEnd(prefix), "CREATE", "EQUAL", 0L);
        }

        public static Compare absent(String key) {
            return createRevision(key, "EQUAL", 0);
        }

        public static Compare present(String key) {
            return createRevision(key, "GREATER", 0);
        }

        public static Compare modRevision(String key, long rev) {
            return new Compare(key, null, "MOD", "EQUAL", rev);
        }

        public static Compare value(String key, String value) {
            return new Compare(key, null, "VALUE", "EQUAL", value);
        }
    }

    /** A txn operation: a put (with a lease, or 0), a delete of a key or range, or a range read. */
    public sealed interface Op {
        record Put(String key, String value, long lease) implements Op {
        }

        record Delete(String key, String rangeEnd) implements Op {
        }

        record Range(String key, String rangeEnd) implements Op {
        }
    }

    /** A txn's outcome: which branch ran, at which revision, and the range reads of that branch (in order). */
    public record TxnResult(boolean succeeded, long revision, List<RangeResult> ranges) {
    }

    /** A change seen by a watch. */
    public record WatchEvent(boolean delete, KeyValue kv) {
    }

    /** A running watch; {@link #close()} ends it. */
    public interface Watch extends AutoCloseable {
        /** The last revision delivered (or the one before the start revision). */
        long revision();

        /**
         * Whether the stream is open now: etcd has answered it (its "created" message, or an event) since the last
         * break. A watch that recovered from a break is open again before any new event.
         */
        boolean open();

        @Override
        void close();
    }

    final ObjectMapper json = new ObjectMapper();
    private final Supplier<SSLContext> tls;
    /** The HTTP client and the TLS context it was built with; built again when the context changes. */
    private volatile Http http;
    private final List<URI> endpoints;
    private final Duration timeout;
    private final Credentials credentials;
    /** etcd's auth token for {@link #credentials}; null until authenticated and after etcd refused it. */
    private String token;
    private volatile int preferred;

    public EtcdClient(Options options) {
        if (options.endpoints().isEmpty()) throw new IllegalArgumentException("no etcd endpoints configured");
        List<URI> eps = new ArrayList<>();
        for (URI u : options.endpoints()) {
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase();
            if (scheme.equals("http")) {
                if (!options.allowInsecure()) {
                    throw new IllegalArgumentException("etcd endpoint " + u + " is plaintext http: identities and"
                            + " leases would travel unauthenticated; use https:// with caFile/certFile/keyFile, or set"
                            + " allowInsecure=true to accept plaintext (test clusters only)");
                }
            } else if (!scheme.equals("https")) {
                throw new IllegalArgumentException("etcd endpoint " + u + ": the scheme must be https:// (or http://"
                        + " with allowInsecure=true)");
            }
            String s = u.toString();
            eps.add(URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s));
        }
        this.endpoints = List.copyOf(eps);
        this.timeout = options.requestTimeout();
        this.credentials = options.credentials();
        this.tls = options.tls();
        http();
    }

    private record Http(HttpClient client, SSLContext ssl) {
    }

    /**
     * The HTTP client for a new request: built again when the TLS context changed (rotated files), so new
     * connections use the new certificate; requests and watches already running keep theirs.
     */
    HttpClient http() {
        SSLContext ssl = tls == null ? null : tls.get();
        Http h = http;
        if (h != null && h.ssl() == ssl) return h.client();
        synchronized (this) {
            h = http;
            if (h != null && h.ssl() == ssl) return h.client();
            HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout);
            if (ssl != null) b.sslContext(ssl);
            http = new Http(b.build(), ssl);
            return http.client();
        }
    }

    public List<URI> endpoints() {
        return endpoints;
    }

    // ---------------------------------------------------------------- KV

    public RangeResult get(String key) throws IOException {
        return range(key, null);
    }

    public RangeResult getPrefix(String prefix) throws IOException {
        return range(prefix, prefixEnd(prefix));
    }

    public RangeResult range(String key, String rangeEnd) throws IOException {
        ObjectNode req = rangeRequest(key, rangeEnd);
        return parseRange(call("/v3/kv/range", req));
    }

    /** Puts {@code key}; {@code lease} 0 means none. Returns the new store revision. */
    public long put(String key, String value, long lease) throws IOException {
        return revision(call("/v3/kv/put", putRequest(key, value, lease)));
    }

    /** Creates {@code key} only if it does not exist (compare create_revision == 0). */
    public boolean putIfAbsent(String key, String value, long lease) throws IOException {
        return txn(List.of(Compare.absent(key)), List.of(new Op.Put(key, value, lease)), List.of()).succeeded();
    }

    /** Deletes one key; returns how many were deleted (0 or 1). */
    public long delete(String key) throws IOException {
        return deleteRange(key, null);
    }

    public long deletePrefix(String prefix) throws IOException {
        return deleteRange(prefix, prefixEnd(prefix));
    }

    private long deleteRange(String key, String rangeEnd) throws IOException {
        ObjectNode req = json.createObjectNode().put("key", b64(key));
        if (rangeEnd != null) req.put("range_end", b64(rangeEnd));
        return call("/v3/kv/deleterange", req).path("deleted").asLong(0);
    }

    public TxnResult txn(List<Compare> compares, List<Op> success, List<Op> failure) throws IOException {
        ObjectNode req = json.createObjectNode();
        ArrayNode cmp = req.putArray("compare");
        for (Compare c : compares) {
            ObjectNode n = cmp.addObject();
            n.put("key", b64(c.key()));
            if (c.rangeEnd() != null) n.put("range_end", b64(c.rangeEnd()));
            n.put("target", c.target());
            n.put("result", c.result());
            switch (c.target()) {
                case "CREATE" -> n.put("create_revision", Long.toString((Long) c.operand()));
                case "MOD" -> n.put("mod_revision", Long.toString((Long) c.operand()));
                case "VERSION" -> n.put("version", Long.toString((Long) c.operand()));
                case "LEASE" -> n.put("lease", Long.toString((Long) c.operand()));
                case "VALUE" -> n.put("value", b64((String) c.operand()));
                default -> throw new IllegalArgumentException("unknown compare target " + c.target());
            }
        }
        ops(req.putArray("success"), success);
        ops(req.putArray("failure"), failure);
        JsonNode res = call("/v3/kv/txn", req);
        List<RangeResult> ranges = new ArrayList<>();
        long rev = revision(res);
        for (JsonNode r : res.path("responses")) {
            if (r.has("response_range")) {
                RangeResult rr = parseRange(r.get("response_range"));
                ranges.add(new RangeResult(rev, rr.kvs()));
            }
        }
        return new TxnResult(res.path("succeeded").asBoolean(false), rev, ranges);
    }

    private void ops(ArrayNode out, List<Op> ops) {
        for (Op op : ops) {
            ObjectNode n = out.addObject();
            if (op instanceof Op.Put p) n.set("request_put", putRequest(p.key(), p.value(), p.lease()));
            else if (op instanceof Op.Range r) n.set("request_range", rangeRequest(r.key(), r.rangeEnd()));
            else if (op instanceof Op.Delete d) {
                ObjectNode del = json.createObjectNode().put("key", b64(d.key()));
                if (d.rangeEnd() != null) del.put("range_end", b64(d.rangeEnd()));
                n.set("request_delete_range", del);
            }
        }
    }

    // ---------------------------------------------------------------- leases

    /** Grants a lease of {@code ttlSeconds}; returns its id. */
    public long grant(long ttlSeconds) throws IOException {
        JsonNode res = call("/v3/lease/grant", json.createObjectNode().put("TTL", Long.toString(ttlSeconds)));
        if (res.hasNonNull("error") && !res.path("error").asText().isEmpty()) {
            throw new EtcdException(0, "lease grant: " + res.path("error").asText());
        }
        long id = res.path("ID").asLong(0);
        if (id == 0) throw new EtcdException(0, "lease grant returned no ID: " + res);
        return id;
    }

    /** Renews a lease once; returns the remaining TTL in seconds, or 0 (or less) when the lease is gone. */
    public long keepAliveOnce(long lease) throws IOException {
        JsonNode res = call("/v3/lease/keepalive", json.createObjectNode().put("ID", Long.toString(lease)));
        return res.path("result").path("TTL").asLong(0);
    }

    /** Remaining TTL of a lease, -1 when it does not exist. */
    public long timeToLive(long lease) throws IOException {
        return call("/v3/lease/timetolive", json.createObjectNode().put("ID", Long.toString(lease))).path("TTL").asLong(-1);
    }

    /** A lease's remaining and granted TTL in seconds; remaining -1 when it does not exist. */
    public record LeaseTimes(long remaining, long granted) {
    }

    public LeaseTimes leaseTimes(long lease) throws IOException {
        JsonNode r = call("/v3/lease/timetolive", json.createObjectNode().put("ID", Long.toString(lease)));
        return new LeaseTimes(r.path("TTL").asLong(-1), r.path("grantedTTL").asLong(0));
    }

    /** What the member answering says of itself: its version, the leader's member id, the store's revision. */
    public record ServerStatus(String version, String leader, long revision) {
    }

    public ServerStatus status() throws IOException {
        JsonNode r = call("/v3/maintenance/status", json.createObjectNode());
        return new ServerStatus(r.path("version").asText(""), r.path("leader").asText(""),
                r.path("header").path("revision").asLong(0));
    }

    /** Revokes a lease: etcd deletes every key attached to it. */
    public void revoke(long lease) throws IOException {
        call("/v3/lease/revoke", json.createObjectNode().put("ID", Long.toString(lease)));
    }

    // ---------------------------------------------------------------- watch

    /**
     * Watches every key under {@code prefix} from {@code fromRevision} (0 = from now), delivering events to
     * {@code onEvent} on a daemon thread. A broken stream is re-opened from the last delivered revision + 1 after a
     * back-off; {@code onError} hears about each break (and about compaction, which ends the watch: re-list then).
     */
    public Watch watch(String prefix, long fromRevision, Consumer<WatchEvent> onEvent, Consumer<Exception> onError) {
        return PrefixWatch.start(this, prefix, fromRevision, onEvent, onError);
    }

    /** The watch's start revision has been compacted away. */
    public static final class CompactedException extends IOException {
        CompactedException(String message) {
            super(message);
        }
    }

    // ---------------------------------------------------------------- plumbing

    private ObjectNode rangeRequest(String key, String rangeEnd) {
        ObjectNode req = json.createObjectNode().put("key", b64(key));
        if (rangeEnd != null) req.put("range_end", b64(rangeEnd));
        return req;
    }

    private ObjectNode putRequest(String key, String value, long lease) {
        ObjectNode req = json.createObjectNode().put("key", b64(key)).put("value", b64(value));
        if (lease != 0) req.put("lease", Long.toString(lease));
        return req;
    }

    private RangeResult parseRange(JsonNode res) {
        List<KeyValue> kvs = new ArrayList<>();
        for (JsonNode kv : res.path("kvs")) kvs.add(parseKv(kv));
        return new RangeResult(revision(res), List.copyOf(kvs));
    }

    static KeyValue parseKv(JsonNode kv) {
        return new KeyValue(unb64(kv.path("key").asText("")), unb64(kv.path("value").asText("")),
                kv.path("create_revision").asLong(0), kv.path("mod_revision").asLong(0),
                kv.path("version").asLong(0), kv.path("lease").asLong(0));
    }

    private static long revision(JsonNode res) {
        return res.path("header").path("revision").asLong(0);
    }

    /** etcd's answers that mean the token (or its absence) was refused, not the request. */
    static final java.util.regex.Pattern AUTH_REFUSED =
            java.util.regex.Pattern.compile("invalid auth token|user name is empty|auth: revision in header is old");

    /**
     * Opens a streaming POST (the watch) on the member that answered last; a member that cannot be reached is
     * passed over on the next attempt. The caller reads and closes the body.
     */
    HttpResponse<InputStream> openStream(String path, JsonNode body, String auth) throws IOException {
        URI base = endpoints.get(preferred);
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(base + path))
                .header("Content-Type", "application/json");
        if (auth != null) rb.header("Authorization", auth);
        HttpRequest req = rb.POST(HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body))).build();
        try {
            return http().send(req, HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        } catch (IOException e) {
            preferred = (preferred + 1) % endpoints.size();
            throw e;
        }
    }

    /** The etcd user this client authenticates as, or null. */
    Credentials credentials() {
        return credentials;
    }

    /**
     * POSTs a request to the first endpoint that answers; an HTTP error from etcd is not retried elsewhere. With
     * credentials, a refused token (expired: etcd's simple tokens live 5 minutes unused) is renewed once.
     */
    private JsonNode call(String path, JsonNode body) throws IOException {
        String auth = token();
        try {
            return send(path, body, auth);
        } catch (EtcdException e) {
            if (credentials == null || !AUTH_REFUSED.matcher(e.getMessage()).find()) throw e;
            invalidate(auth);
            return send(path, body, token());
        }
    }

    /** The token to send, authenticating first if there is none; null without credentials. */
    synchronized String token() throws IOException {
        if (credentials == null) return null;
        if (token == null) {
            JsonNode req = json.createObjectNode().put("name", credentials.user()).put("password", credentials.password());
            try {
                token = send("/v3/auth/authenticate", req, null).path("token").asText(null);
            } catch (EtcdException e) {
                throw new EtcdException(e.status(), "cannot authenticate to etcd as user " + credentials.user() + ": "
                        + e.getMessage() + (e.getMessage().contains("authentication is not enabled")
                        ? " (etcd has no authentication enabled: remove etcdUser/etcdPasswordFile, or enable it)"
                        : " (check etcdUser and etcdPasswordFile)"));
            }
            if (token == null || token.isEmpty()) {
                throw new EtcdException(0, "etcd answered no token for user " + credentials.user());
            }
        }
        return token;
    }

    synchronized void invalidate(String refused) {
        if (refused != null && refused.equals(token)) token = null;
    }

    String authHint(String message) {
        if (credentials == null && message.contains("user name is empty")) {
            return " (etcd has authentication enabled: set etcdUser and etcdPasswordFile in io.septum.cluster)";
        }
        return "";
    }

    private JsonNode send(String path, JsonNode body, String auth) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        IOException last = null;
        int start = preferred;
        for (int i = 0; i < endpoints.size(); i++) {
            int idx = (start + i) % endpoints.size();
            URI uri = URI.create(endpoints.get(idx) + path);
            HttpRequest.Builder rb = HttpRequest.newBuilder(uri).timeout(timeout)
                    .header("Content-Type", "application/json");
            if (auth != null) rb.header("Authorization", auth);
            HttpRequest req = rb.POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build();
            HttpResponse<byte[]> res;
            try {
                res = http().send(req, HttpResponse.BodyHandlers.ofByteArray());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while calling etcd " + uri);
            } catch (IOException e) {
                last = e;
                LOG.log(Level.FINE, "etcd endpoint " + endpoints.get(idx) + " failed", e);
                continue;
            }
            preferred = idx;
            if (res.statusCode() != 200) {
                String text = new String(res.body(), StandardCharsets.UTF_8);
                String message = text;
                try {
                    JsonNode err = json.readTree(text);
                    if (err.hasNonNull("message")) message = err.get("message").asText();
                } catch (IOException notJson) {
                    // keep the raw text
                }
                if (res.statusCode() == 403 && credentials != null) {
                    message += " (etcd user " + credentials.user() + "'s roles do not allow this request)";
                }
                throw new EtcdException(res.statusCode(), "etcd " + path + " at " + endpoints.get(idx) + ": " + message
                        + authHint(message));
            }
            // Streaming RPCs (keepalive) answer with one JSON object per line; the first is the one we want.
            return json.readTree(firstLine(res.body()));
        }
        throw new IOException("no etcd endpoint answered " + path + " (tried " + endpoints + "): "
                + (last == null ? "" : last.toString()), last);
    }

    private static byte[] firstLine(byte[] body) {
        for (int i = 0; i < body.length; i++) {
            if (body[i] == '\n') return Arrays.copyOf(body, i);
        }
        return body;
    }

    static String b64(String s) {
        return B64.encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static String unb64(String s) {
        return new String(B64D.decode(s), StandardCharsets.UTF_8);
    }

    /**
     * The end of the range of keys starting with {@code prefix} (clientv3's GetPrefixRangeEnd). Keys are UTF-8 strings
     * here, so the prefix must end with an ASCII character below DEL (all of Septum's prefixes end with '/').
     */
    public static String prefixEnd(String prefix) {
        if (prefix.isEmpty()) return "\0";
        char last = prefix.charAt(prefix.length() - 1);
        if (last >= 0x7f) throw new IllegalArgumentException("prefix must end with an ASCII character: " + prefix);
        return prefix.substring(0, prefix.length() - 1) + (char) (last + 1);
    }

    @Override
    public void close() {
        // java.net.http.HttpClient has no close before Java 21; its threads are daemons and idle out.
    }

    /** etcd answered with an error (HTTP status and etcd's message). */
    public static final class EtcdException extends IOException {
        private final int status;

        public EtcdException(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }
}
