package io.septum.kvstore.etcd.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.septum.kvstore.etcd.internal.EtcdClient.KeyValue;
import io.septum.kvstore.etcd.internal.EtcdClient.WatchEvent;
import io.septum.support.thread.DaemonThreads;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * One etcd watch on a key prefix, on a daemon thread of its own: it streams {@code /v3/watch}, delivers each event,
 * and after a break re-opens the stream from the last delivered revision + 1 with a back-off (100 ms doubling to
 * 5 s). Compaction of its start revision ends it ({@link EtcdClient.CompactedException}: the owner re-lists).
 */
final class PrefixWatch implements EtcdClient.Watch, Runnable {
    private final EtcdClient client;
    private final String prefix;
    private final Consumer<WatchEvent> onEvent;
    private final Consumer<Exception> onError;
    private volatile long revision;
    private volatile boolean closed;
    private volatile boolean open;
    private volatile InputStream body;
    private Thread thread;

    static PrefixWatch start(EtcdClient client, String prefix, long from, Consumer<WatchEvent> onEvent,
            Consumer<Exception> onError) {
        PrefixWatch w = new PrefixWatch(client, prefix, from, onEvent, onError);
        w.thread = DaemonThreads.start("etcd-watch " + prefix, w);
        return w;
    }

    private PrefixWatch(EtcdClient client, String prefix, long from, Consumer<WatchEvent> onEvent,
            Consumer<Exception> onError) {
        this.client = client;
        this.prefix = prefix;
        this.revision = from <= 0 ? 0 : from - 1;
        this.onEvent = onEvent;
        this.onError = onError;
    }

    @Override
    public long revision() {
        return revision;
    }

    @Override
    public boolean open() {
        return open && !closed;
    }

    @Override
    public void run() {
        long backoff = 100;
        while (!closed) {
            try {
                stream();
                backoff = 100;
            } catch (EtcdClient.CompactedException e) {
                open = false;
                onError.accept(e);
                return;
            } catch (IOException | RuntimeException e) {
                open = false;
                if (closed) return;
                onError.accept(e instanceof IOException io ? io : new IOException(e));
            }
            if (closed) return;
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                return;
            }
            backoff = Math.min(backoff * 2, 5000);
        }
    }

    private void stream() throws IOException {
        ObjectNode create = client.json.createObjectNode();
        ObjectNode cr = create.putObject("create_request");
        cr.put("key", EtcdClient.b64(prefix));
        cr.put("range_end", EtcdClient.b64(EtcdClient.prefixEnd(prefix)));
        if (revision > 0) cr.put("start_revision", Long.toString(revision + 1));
        String auth = client.token();
        HttpResponse<InputStream> res = client.openStream("/v3/watch", create, auth);
        try (InputStream in = res.body()) {
            body = in;
            if (closed) return;
            if (res.statusCode() != 200) {
                throw new EtcdClient.EtcdException(res.statusCode(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
            try (MappingIterator<JsonNode> it = client.json.readerFor(JsonNode.class).readValues(in)) {
                while (!closed && it.hasNextValue()) {
                    JsonNode msg = it.nextValue();
                    if (msg.has("error")) throw new EtcdClient.EtcdException(msg.path("error").path("http_code").asInt(0), msg.toString());
                    open = true;
                    JsonNode r = msg.path("result");
                    String cancelled = r.path("cancel_reason").asText("");
                    if (r.path("canceled").asBoolean(false) && EtcdClient.AUTH_REFUSED.matcher(cancelled).find()) {
                        // an expired token (or auth just enabled): authenticate again on the next attempt
                        client.invalidate(auth);
                        throw new EtcdClient.EtcdException(401, "watch on " + prefix + " refused: " + cancelled + client.authHint(cancelled));
                    }
                    if (r.path("canceled").asBoolean(false) && cancelled.contains("permission denied")) {
                        throw new EtcdClient.EtcdException(403, "watch on " + prefix + " refused: " + cancelled
                                + " (the etcd role of " + (client.credentials() == null ? "this client" : "user " + client.credentials().user())
                                + " cannot read it)");
                    }
                    if (r.path("compact_revision").asLong(0) > 0 || r.path("canceled").asBoolean(false)) {
                        throw new EtcdClient.CompactedException("watch on " + prefix + " canceled (compact_revision "
                                + r.path("compact_revision").asLong(0) + "): re-list and watch again");
                    }
                    for (JsonNode e : r.path("events")) {
                        KeyValue kv = EtcdClient.parseKv(e.path("kv"));
                        onEvent.accept(new WatchEvent("DELETE".equals(e.path("type").asText()), kv));
                        revision = Math.max(revision, kv.modRevision());
                    }
                }
            }
        }
        if (!closed) throw new IOException("watch stream on " + prefix + " ended");
    }

    @Override
    public void close() {
        closed = true;
        InputStream in = body;
        if (in != null) {
            try {
                in.close();
            } catch (IOException ignored) {
                // closing is best effort
            }
        }
        if (thread != null) thread.interrupt();
    }
}
