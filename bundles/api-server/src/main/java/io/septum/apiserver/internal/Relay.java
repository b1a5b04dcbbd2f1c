package io.septum.apiserver.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.septum.api.ClusterInfo;
import io.septum.api.ClusterNode;
import io.septum.api.flow.Flow;
import io.septum.api.flow.FlowNodeStatus;
import io.septum.api.flow.FlowObserver;
import io.septum.api.flow.FlowQuery;
import io.septum.api.flow.FlowRelay;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The relay, as Hubble Relay is one: this agent reads its own flows from its observer and every other node's from
 * that node's peer flow service (found in the node registry), and merges them by time.
 *
 * <p>A finite answer ({@code last N}, {@code since}) is exact: every node answers completely (or is reported), the
 * flows are sorted by time and the newest {@code N} of them all are sent. A followed stream cannot wait for
 * everything, so it is ordered within a bounded window: each flow is held at most {@code windowMillis} after it
 * arrives, and what leaves is always the oldest held (by its time); at most {@code maxBuffered} flows are held, and
 * when that is reached the oldest leaves at once. Flows that reach the relay within the window of one another leave
 * in time order; a flow that arrives later than that (a slow node, a reconnection) leaves late, out of order, rather
 * than holding the stream without bound.
 *
 * <p>A node that cannot be read is reported in the stream ({@link FlowNodeStatus}) and never stops the others; a
 * followed node is dialled again every {@code retryMillis}, from just after its last flow, and reported once more
 * when it is back. Nodes that register later join a followed stream at the next retry.
 */
final class Relay implements FlowRelay {
    private static final System.Logger LOG = System.getLogger(Relay.class.getName());

    /**
     * @param windowMillis   how long a followed flow may wait for older ones from other nodes
     * @param maxBuffered    flows held at most while waiting (the queue from the nodes holds at least 4096)
     * @param answerMillis   a finite answer from a node must be complete within this
     * @param retryMillis    a followed node that failed is dialled again after this; new nodes are looked for as often
     * @param heartbeatMillis an idle stream sends a heartbeat this often
     */
    record Settings(long windowMillis, int maxBuffered, long answerMillis, long retryMillis, long heartbeatMillis) {
        static Settings defaults() {
            return new Settings(1_000, 10_000, 10_000, 10_000, 5_000);
        }
    }

    private final Supplier<FlowObserver> local;
    private final Supplier<ClusterInfo> cluster;
    private final PeerClient client;
    private final String noClientReason;
    private final Settings settings;
    private final ExecutorService pool;
    private final ObjectMapper mapper = new ObjectMapper();
    private final LongAdder lost = new LongAdder();

    /**
     * @param cluster        the node registry, or null when standalone (then only this node's flows)
     * @param client         dials the other nodes, or null when this node has no client certificate
     * @param noClientReason what every other node is reported with when {@code client} is null
     */
    Relay(Supplier<FlowObserver> local, Supplier<ClusterInfo> cluster, PeerClient client, String noClientReason,
          Settings settings, ExecutorService pool) {
        this.local = local;
        this.cluster = cluster;
        this.client = client;
        this.noClientReason = noClientReason;
        this.settings = settings;
        this.pool = pool;
    }

    /** Flows dropped because a relay client did not keep up (its queue from the nodes was full). */
    long lost() {
        return lost.sum();
    }

    private sealed interface Item permits Got, Status, Done {
    }

    private record Got(Flow flow) implements Item {
    }

    private record Status(FlowNodeStatus status) implements Item {
    }

    private record Done(String node) implements Item {
    }

    @Override
    public void stream(Map<String, List<String>> query, boolean follow, Sink sink) throws IOException {
        stream(query, FlowQuery.parse(query, 0, Set.of()), follow, sink);
    }

    /** {@link #stream(Map, boolean, Sink)} with the query parsed already. */
    void stream(Map<String, List<String>> query, FlowQuery q, boolean follow, Sink sink) throws IOException {
        FlowObserver observer = local.get();
        Session s = new Session(query, q, follow);
        try {
            List<ClusterNode> nodes = nodes();
            String self = nodes.stream().filter(ClusterNode::self).map(ClusterNode::name).findFirst().orElse(null);
            s.startLocal(observer);
            for (ClusterNode n : nodes) if (!n.self() && !n.name().equals(self)) s.startPeer(n);
            if (follow) s.discover();
            if (follow) s.merge(sink);
            else s.collect(sink);
        } finally {
            s.stop();
        }
    }

    private List<ClusterNode> nodes() {
        ClusterInfo info = cluster == null ? null : cluster.get();
        if (info == null) return List.of();
        try {
            return info.nodes();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "flow relay: cannot list the nodes: " + e.getMessage());
            return List.of();
        }
    }

    /** One client's merged stream: its sources, its queue and its buffer. */
    private final class Session {
        private final Map<String, List<String>> query;
        private final FlowQuery q;
        private final boolean follow;
        private final BlockingQueue<Item> in;
        private final Set<String> sources = ConcurrentHashMap.newKeySet();
        private final List<AutoCloseable> open = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final CountDownLatch stopped = new CountDownLatch(1);
        /** Flows lost per node, not yet reported. */
        private final Map<String, java.util.concurrent.atomic.AtomicLong> lostByNode = new ConcurrentHashMap<>();

        Session(Map<String, List<String>> query, FlowQuery q, boolean follow) {
            this.query = query;
            this.q = q;
            this.follow = follow;
            // the way in is not the hold buffer: a burst from several nodes must fit while the merge takes it
            this.in = new LinkedBlockingQueue<>(Math.max(4096, settings.maxBuffered()));
        }

        boolean stopping() {
            return stopped.getCount() == 0;
        }

        void stop() {
            stopped.countDown();
            for (AutoCloseable c : open) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // closing a source that already ended
                }
            }
        }

        /** From a source thread or Netty's: never blocks; a full queue loses the flow (counted, and reported). */
        void offer(Item i) {
            if (i instanceof Got g) {
                if (!in.offer(i)) {
                    lost.increment();
                    lostByNode.computeIfAbsent(g.flow().nodeName() == null ? "?" : g.flow().nodeName(),
                            k -> new java.util.concurrent.atomic.AtomicLong()).incrementAndGet();
                }
                return;
            }
            try {
                // a status or an end must arrive: the merge counts on them
                while (!in.offer(i, 100, TimeUnit.MILLISECONDS)) if (stopping()) return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void startLocal(FlowObserver observer) {
            sources.add("");
            pool.execute(() -> {
                try {
                    if (!follow) {
                        observer.query(q.filter(), q.last()).forEach(f -> offer(new Got(f)));
                        return;
                    }
                    try (LocalFeed feed = new LocalFeed(observer, q)) {
                        open.add(feed);
                        feed.backlog().forEach(f -> offer(new Got(f)));
                        while (!stopping()) {
                            Flow f = feed.next(500);
                            if (f != null) offer(new Got(f));
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "flow relay: this node's flows failed: " + e.getMessage());
                } finally {
                    offer(new Done(""));
                }
            });
        }

        void startPeer(ClusterNode n) {
            if (!sources.add(n.name())) return;
            pool.execute(() -> {
                try {
                    readPeer(n);
                } finally {
                    offer(new Done(n.name()));
                }
            });
        }

        /** Looks for nodes that register while a stream is followed. */
        void discover() {
            pool.execute(() -> {
                try {
                    while (!stopped.await(settings.retryMillis(), TimeUnit.MILLISECONDS)) {
                        for (ClusterNode n : nodes()) if (!n.self()) startPeer(n);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }

        private void status(String node, String state, String message) {
            offer(new Status(new FlowNodeStatus(node, state, message, Instant.now().toString())));
        }

        /** One node: a finite answer, or a followed stream dialled again after each failure. */
        private void readPeer(ClusterNode n) {
            if (n.peer() == null) {
                status(n.name(), FlowNodeStatus.NO_PEER_SERVICE, "its registration names no peer flow service (peerPort is"
                        + " not set on that node, or its agent is older than observe --cluster)");
                return;
            }
            if (client == null) {
                status(n.name(), FlowNodeStatus.UNREACHABLE, noClientReason);
                return;
            }
            String lastError = null;
            long[] newest = {Long.MIN_VALUE};
            while (!stopping()) {
                String[] error = {null};
                boolean[] connected = {false};
                CountDownLatch done = new CountDownLatch(1);
                String reportedBefore = lastError;
                PeerClient.Request r = client.get(n.name(), n.peer(), target(newest[0]), new PeerClient.Listener() {
                    @Override
                    public void connected() {
                        connected[0] = true;
                        if (reportedBefore != null) {
                            status(n.name(), FlowNodeStatus.CONNECTED, "its flows come again from " + n.peer());
                        }
                    }

                    @Override
                    public void line(String json) {
                        try {
                            Flow f = mapper.readValue(json, Flow.class);
                            newest[0] = Math.max(newest[0], f.timeNanos());
                            // the TLS handshake proved which node this is: its name on its flows is that one
                            offer(new Got(f.withNodeName(n.name())));
                        } catch (IOException e) {
                            LOG.log(System.Logger.Level.DEBUG, "flow relay: " + n.name() + " sent a line that is no flow");
                        }
                    }

                    @Override
                    public void failed(String message) {
                        error[0] = message;
                        done.countDown();
                    }

                    @Override
                    public void ended() {
                        if (follow) error[0] = n.name() + " ended its flow stream (is its agent stopping?)";
                        done.countDown();
                    }
                });
                open.add(r);
                try {
                    boolean finished = follow ? awaitOrStop(done) : done.await(settings.answerMillis(), TimeUnit.MILLISECONDS);
                    if (!follow && !finished) error[0] = "no complete answer from " + n.peer() + " within " + settings.answerMillis() + " ms";
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } finally {
                    r.close();
                    open.remove(r);
                }
                if (stopping()) return;
                // the same failure again, without a connection in between, was reported already
                boolean repeated = !connected[0] && error[0] != null && error[0].equals(lastError);
                if (error[0] != null && !repeated) status(n.name(), FlowNodeStatus.UNREACHABLE, error[0]);
                lastError = error[0];
                if (!follow) return;
                try {
                    if (stopped.await(settings.retryMillis(), TimeUnit.MILLISECONDS)) return;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }

        private boolean awaitOrStop(CountDownLatch done) throws InterruptedException {
            while (!done.await(200, TimeUnit.MILLISECONDS)) if (stopping()) return false;
            return true;
        }

        /** The peer's path: the same filters; after a break, from just after the last flow seen, every one since. */
        private String target(long newest) {
            Map<String, List<String>> p = new LinkedHashMap<>(query);
            if (newest != Long.MIN_VALUE) {
                p.put("since", List.of(Long.toString(newest + 1)));
                // a followed backlog is the last N (0 = none there): ask for every one since, however many
                p.put("last", List.of(Integer.toString(Integer.MAX_VALUE)));
            }
            StringBuilder b = new StringBuilder("/v1/flows?");
            p.forEach((k, vs) -> vs.forEach(v -> b.append(enc(k)).append('=').append(enc(v)).append('&')));
            if (follow) b.append("follow=true&");
            b.setLength(b.length() - 1);
            return b.toString();
        }

        /** A finite answer: every node complete (or reported), sorted, the newest {@code last} of them all. */
        void collect(Sink sink) throws IOException {
            List<Flow> all = new ArrayList<>();
            int pending = sources.size();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(settings.answerMillis() + 1_000);
            while (pending > 0 && sink.open()) {
                Item i;
                try {
                    i = in.poll(Math.min(settings.heartbeatMillis(), Math.max(1, (deadline - System.nanoTime()) / 1_000_000)),
                            TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                if (i == null) {
                    if (System.nanoTime() > deadline) break; // a source stuck past its own deadline: answer with the rest
                    sink.idle();
                } else if (i instanceof Got g) {
                    all.add(g.flow());
                } else if (i instanceof Status st) {
                    sink.status(st.status());
                } else {
                    pending--;
                }
            }
            reportLosses(sink);
            all.sort(Comparator.comparingLong(Flow::timeNanos));
            int from = q.last() > 0 ? Math.max(0, all.size() - q.last()) : 0;
            for (Flow f : all.subList(from, all.size())) sink.flow(f);
        }

        /** A followed stream: the bounded window (see the class comment). */
        void merge(Sink sink) throws IOException {
            PriorityQueue<Held> byTime = new PriorityQueue<>(Comparator.comparingLong((Held h) -> h.flow.timeNanos())
                    .thenComparingLong(h -> h.seq));
            ArrayDeque<Held> byArrival = new ArrayDeque<>();
            long seq = 0;
            long lastSent = System.nanoTime();
            long window = TimeUnit.MILLISECONDS.toNanos(settings.windowMillis());
            while (sink.open()) {
                long now = System.nanoTime();
                // the oldest arrival's deadline, or the heartbeat
                long wait = TimeUnit.MILLISECONDS.toNanos(settings.heartbeatMillis()) - (now - lastSent);
                Held first = oldestArrival(byArrival);
                if (first != null) wait = Math.min(wait, first.arrived + window - now);
                Item i;
                try {
                    i = in.poll(Math.max(0, wait), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                now = System.nanoTime();
                if (i instanceof Got g) {
                    Held h = new Held(g.flow(), now, seq++);
                    byTime.add(h);
                    byArrival.add(h);
                } else if (i instanceof Status st) {
                    sink.status(st.status());
                    lastSent = now;
                }
                if (reportLosses(sink)) lastSent = now;
                while (byTime.size() > settings.maxBuffered()) {
                    send(byTime.poll(), sink);
                    lastSent = now;
                }
                for (Held h = oldestArrival(byArrival); h != null && h.arrived + window <= now; h = oldestArrival(byArrival)) {
                    send(byTime.poll(), sink);
                    lastSent = now;
                }
                if (i == null && now - lastSent >= TimeUnit.MILLISECONDS.toNanos(settings.heartbeatMillis())) {
                    sink.idle();
                    lastSent = now;
                }
            }
        }

        /** One line per node whose flows were dropped since the last report; whether any was sent. */
        private boolean reportLosses(Sink sink) throws IOException {
            boolean any = false;
            for (Map.Entry<String, java.util.concurrent.atomic.AtomicLong> e : lostByNode.entrySet()) {
                long n = e.getValue().getAndSet(0);
                if (n == 0) continue;
                any = true;
                sink.status(new FlowNodeStatus(e.getKey(), FlowNodeStatus.FLOWS_LOST, n + " flow(s) of this node dropped by"
                        + " the relay: this stream's reader did not keep up", Instant.now().toString()));
            }
            return any;
        }

        private Held oldestArrival(ArrayDeque<Held> byArrival) {
            while (!byArrival.isEmpty() && byArrival.peekFirst().sent) byArrival.pollFirst();
            return byArrival.peekFirst();
        }

        private void send(Held h, Sink sink) throws IOException {
            h.sent = true;
            sink.flow(h.flow);
        }
    }

    private static final class Held {
        final Flow flow;
        final long arrived;
        final long seq;
        boolean sent;

        Held(Flow flow, long arrived, long seq) {
            this.flow = flow;
            this.arrived = arrived;
            this.seq = seq;
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
