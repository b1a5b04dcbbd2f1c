import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jdk.incubator.foreign.CLinker;
import jdk.incubator.foreign.FunctionDescriptor;
import jdk.incubator.foreign.MemoryAccess;
import jdk.incubator.foreign.MemoryAddress;
import jdk.incubator.foreign.MemorySegment;
import jdk.incubator.foreign.ResourceScope;
import jdk.incubator.foreign.SymbolLookup;

/**
 * The cluster benchmark's load and probe (scripts/bench-cluster.sh): it plays NODES fake nodes, each with ENDPOINTS
 * endpoints, in a real etcd in Septum's cluster layout, and reads the real agents' pinned BPF ipcache maps
 * directly (libbpf's bpf_obj_get and bpf_map_lookup_elem through the JDK 17 foreign linker), so that an entry
 * counts as arrived only when the kernel map holds it with the published identity.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.foreign --enable-native-access=ALL-UNNAMED ClusterLoad.java
 * ETCD_URL NODES ENDPOINTS IDENTITIES}. It then reads commands on standard input, one per line, and answers each
 * with one line {@code RESULT key=value ...} on standard output (progress goes to standard error):
 * <ul>
 *   <li>{@code setup}: one lease per fake node (TTL 3600 s, not renewed: a run is shorter), its registration
 *       {@code septum/state/nodes/v1/<node>}, the identity masters {@code …/id/<n>} (no lease) and each node's
 *       references {@code …/value/<labels>/<node>} for the identities its endpoints use (the node's lease);</li>
 *   <li>{@code bulk THREADS DEADLINE_S MAP...}: publishes every ip key ({@code septum/state/ip/v1/<node>/<ip>},
 *       the node's lease) from THREADS threads, stamping each just before its put, and polls the maps until each
 *       holds every entry;</li>
 *   <li>{@code steady RATE SECONDS MAP...}: RATE times a second (on a fixed schedule) one node replaces its oldest
 *       endpoint with a new one: a put of a new address, then a delete of the old one; it measures when the new
 *       entry appears and when the old one disappears in each map;</li>
 *   <li>{@code sync DEADLINE_S MAP}: waits for MAP's pin, then polls it until it holds every entry now published;
 *       answers with the epoch milliseconds when it did;</li>
 *   <li>{@code quit}: revokes the fake nodes' leases (etcd deletes their keys) and exits.</li>
 * </ul>
 * Percentiles are nearest-rank. The probe's resolution is its poll period, which each answer reports (measured).
 */
public class ClusterLoad {
    static final String NODE_PREFIX = "septum/state/nodes/v1/";
    static final String IP_PREFIX = "septum/state/ip/v1/";
    static final String ID_PREFIX = "septum/state/identities/v1";
    static final long FIRST_ID = 256;
    static final long LEASE_TTL = 3600;

    final String etcd;
    final int nodes, endpoints, identities;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    final long[] leases;
    /** Per node, the address indexes of its endpoints in publishing order (oldest first). */
    final List<ArrayDeque<Integer>> live = new ArrayList<>();
    final int[] nextAddr;
    final Bpf bpf;

    ClusterLoad(String etcd, int nodes, int endpoints, int identities) throws Throwable {
        this.etcd = etcd;
        this.nodes = nodes;
        this.endpoints = endpoints;
        this.identities = identities;
        this.leases = new long[nodes];
        this.nextAddr = new int[nodes];
        for (int n = 0; n < nodes; n++) live.add(new ArrayDeque<>());
        this.bpf = new Bpf();
    }

    // ------------------------------------------------------------------ naming

    static String nodeName(int n) {
        return String.format(Locale.ROOT, "bench-node-%04d", n);
    }

    /** Node n owns 10.(128 + n/16).((n%16)*16).0/20: 4094 addresses, room for the steady phase's new ones. */
    static String cidr(int n) {
        return "10." + (128 + n / 16) + "." + ((n % 16) * 16) + ".0/20";
    }

    static int[] addr(int n, int a) {
        int host = a + 1; // .0 of the /20 is skipped
        return new int[] {10, 128 + n / 16, (n % 16) * 16 + host / 256, host % 256};
    }

    static String ip(int n, int a) {
        int[] b = addr(n, a);
        return b[0] + "." + b[1] + "." + b[2] + "." + b[3];
    }

    static String nodeAddress(int n) {
        return "10.127." + (n / 256) + "." + (n % 256);
    }

    /** Endpoint a of node n has identity index (n * ENDPOINTS + a) % IDENTITIES. */
    long identity(int n, int a) {
        return FIRST_ID + Math.floorMod((long) n * endpoints + a, identities);
    }

    static String labels(long id) {
        // Septum's label string (sorted, ';'-terminated), as KvstoreIdentityAllocator.encode writes it
        return "k8s:app=bench-" + id + ";k8s:io.cilium.k8s.policy.cluster=default;k8s:io.kubernetes.pod.namespace=bench;";
    }

    // ------------------------------------------------------------------ etcd over its JSON gateway

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static String q(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    String call(String path, String body) throws IOException {
        HttpRequest req = HttpRequest.newBuilder(URI.create(etcd + path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> res;
        try {
            res = http.send(req, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (res.statusCode() != 200) throw new IOException(path + ": HTTP " + res.statusCode() + ": " + res.body());
        return res.body();
    }

    static String putOp(String key, String value, long lease) {
        return "{\"key\":" + q(b64(key)) + ",\"value\":" + q(b64(value)) + (lease != 0 ? ",\"lease\":\"" + lease + "\"" : "") + "}";
    }

    void put(String key, String value, long lease) throws IOException {
        call("/v3/kv/put", putOp(key, value, lease));
    }

    void delete(String key) throws IOException {
        call("/v3/kv/deleterange", "{\"key\":" + q(b64(key)) + "}");
    }

    /** Puts in one transaction each (etcd's default limit is 128 operations per txn). */
    void putAll(List<String> ops) throws IOException {
        for (int i = 0; i < ops.size(); i += 100) {
            StringBuilder sb = new StringBuilder("{\"success\":[");
            for (int j = i; j < Math.min(ops.size(), i + 100); j++) {
                if (j > i) sb.append(',');
                sb.append("{\"request_put\":").append(ops.get(j)).append('}');
            }
            call("/v3/kv/txn", sb.append("]}").toString());
        }
    }

    static final Pattern ID = Pattern.compile("\"ID\"\\s*:\\s*\"?(-?\\d+)");

    long grant() throws IOException {
        String r = call("/v3/lease/grant", "{\"TTL\":\"" + LEASE_TTL + "\"}");
        Matcher m = ID.matcher(r);
        if (!m.find()) throw new IOException("lease grant: no ID in " + r);
        return Long.parseLong(m.group(1));
    }

    // ------------------------------------------------------------------ commands

    String setup() throws IOException {
        long t0 = System.nanoTime();
        List<String> ops = new ArrayList<>();
        for (int i = 0; i < identities; i++) {
            ops.add(putOp(ID_PREFIX + "/id/" + (FIRST_ID + i), labels(FIRST_ID + i), 0));
        }
        putAll(ops);
        int refs = 0;
        for (int n = 0; n < nodes; n++) {
            leases[n] = grant();
            String name = nodeName(n);
            put(NODE_PREFIX + name, "{\"name\":" + q(name) + ",\"addresses\":[" + q(nodeAddress(n)) + "],\"cidrs\":["
                    + q(cidr(n)) + "],\"version\":\"bench\",\"startTime\":" + System.currentTimeMillis() + "}", leases[n]);
            java.util.TreeSet<Long> used = new java.util.TreeSet<>();
            for (int a = 0; a < endpoints; a++) used.add(identity(n, a));
            ops.clear();
            for (long id : used) {
                String seg = labels(id).replace("%", "%25").replace("/", "%2F");
                ops.add(putOp(ID_PREFIX + "/value/" + seg + "/" + name, Long.toString(id), leases[n]));
            }
            putAll(ops);
            refs += used.size();
        }
        return "nodes=" + nodes + " identities=" + identities + " references=" + refs + " setup_ms="
                + (System.nanoTime() - t0) / 1_000_000;
    }

    String ipValue(int n, int a) {
        return "{\"ip\":" + q(ip(n, a)) + ",\"identity\":" + identity(n, a) + ",\"node\":" + q(nodeName(n))
                + ",\"namespace\":\"bench\",\"name\":" + q("ep-" + n + "-" + a) + "}";
    }

    String ipKey(int n, int a) {
        return IP_PREFIX + nodeName(n) + "/" + ip(n, a);
    }

    /** One entry to watch for in every map: appears (with its identity) or disappears. */
    static final class Probe {
        final int node, addr;
        final long identity;
        final boolean appear;
        volatile long stamp; // nanoTime just before the etcd request
        volatile long acked; // nanoTime when etcd answered
        final long[] seen;   // per map, nanoTime of the first poll that saw it, 0 until then

        Probe(int node, int addr, long identity, boolean appear, int maps) {
            this.node = node;
            this.addr = addr;
            this.identity = identity;
            this.appear = appear;
            this.seen = new long[maps];
        }
    }

    /** Polls the maps for the probes handed to it until all are seen or the deadline passes. */
    final class Poller {
        final int[] fds;
        final ConcurrentLinkedQueue<Probe> incoming = new ConcurrentLinkedQueue<>();
        final List<Probe> pending = new ArrayList<>();
        final long minPeriodNanos;
        long loops, loopNanos, maxLoopNanos;

        Poller(int[] fds, long minPeriodNanos) {
            this.fds = fds;
            this.minPeriodNanos = minPeriodNanos;
        }

        /** One pass over the pending probes; returns how many are still pending. */
        int pass() throws Throwable {
            long start = System.nanoTime();
            for (Probe p; (p = incoming.poll()) != null; ) pending.add(p);
            for (var it = pending.iterator(); it.hasNext(); ) {
                Probe p = it.next();
                boolean done = true;
                for (int m = 0; m < fds.length; m++) {
                    if (p.seen[m] != 0) continue;
                    long got = bpf.lookup(fds[m], addr(p.node, p.addr));
                    boolean there = got == p.identity;
                    if (there == p.appear) p.seen[m] = System.nanoTime();
                    else done = false;
                }
                if (done) it.remove();
            }
            long took = System.nanoTime() - start;
            loops++;
            loopNanos += Math.max(took, minPeriodNanos);
            maxLoopNanos = Math.max(maxLoopNanos, took);
            if (took < minPeriodNanos) LockSupport.parkNanos(minPeriodNanos - took);
            return pending.size() + incoming.size();
        }

        String resolution() {
            return String.format(Locale.ROOT, "poll_period_mean_ms=%.2f poll_period_max_ms=%.2f", loops == 0 ? 0 : loopNanos / 1e6 / loops,
                    Math.max(maxLoopNanos, minPeriodNanos) / 1e6);
        }
    }

    int[] open(String[] maps, int from, long deadline) throws Throwable {
        int[] fds = new int[maps.length - from];
        for (int i = from; i < maps.length; i++) {
            while (!Files.exists(Path.of(maps[i]))) {
                if (System.nanoTime() > deadline) throw new IOException("no pinned map " + maps[i] + " before the deadline");
                Thread.sleep(20);
            }
            fds[i - from] = bpf.objGet(maps[i]);
        }
        return fds;
    }

    static String stats(String name, List<Long> nanos) {
        if (nanos.isEmpty()) return name + "_samples=0";
        long[] s = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
        return String.format(Locale.ROOT, "%s_samples=%d %s_p50_ms=%.1f %s_p99_ms=%.1f %s_max_ms=%.1f %s_min_ms=%.1f", name,
                s.length, name, rank(s, 50) / 1e6, name, rank(s, 99) / 1e6, name, s[s.length - 1] / 1e6, name, s[0] / 1e6);
    }

    static long rank(long[] sorted, int pct) {
        int i = (int) Math.ceil(pct / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    String bulk(int threads, long deadlineS, String[] args) throws Throwable {
        long deadline = System.nanoTime() + deadlineS * 1_000_000_000L;
        int[] fds = open(args, 3, deadline);
        Poller poller = new Poller(fds, 20_000_000L);
        List<Probe> all = new ArrayList<>();
        for (int a = 0; a < endpoints; a++) {
            for (int n = 0; n < nodes; n++) {
                all.add(new Probe(n, a, identity(n, a), true, fds.length));
                live.get(n).add(a);
            }
        }
        Arrays.fill(nextAddr, endpoints);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        AtomicInteger next = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        long t0 = System.nanoTime();
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            fs.add(pool.submit(() -> {
                for (int i; (i = next.getAndIncrement()) < all.size() && System.nanoTime() < deadline; ) {
                    Probe p = all.get(i);
                    p.stamp = System.nanoTime();
                    try {
                        put(ipKey(p.node, p.addr), ipValue(p.node, p.addr), leases[p.node]);
                        p.acked = System.nanoTime();
                        poller.incoming.add(p);
                    } catch (IOException e) {
                        if (failed.incrementAndGet() <= 5) System.err.println("ClusterLoad: put failed: " + e.getMessage());
                    }
                }
                return null;
            }));
        }
        pool.shutdown();
        while (System.nanoTime() < deadline && (!pool.isTerminated() || poller.pass() > 0)) {
            if (pool.isTerminated()) continue;
            poller.pass();
        }
        long publishedAt = 0;
        for (Future<?> f : fs) f.get(1, TimeUnit.SECONDS);
        List<Long> lat = new ArrayList<>(), acks = new ArrayList<>();
        long lastSeen = 0, lastStamp = 0;
        int missing = 0;
        for (Probe p : all) {
            if (p.acked == 0) continue;
            acks.add(p.acked - p.stamp);
            publishedAt = Math.max(publishedAt, p.acked);
            lastStamp = Math.max(lastStamp, p.stamp);
            for (long s : p.seen) {
                if (s == 0) missing++;
                else {
                    lat.add(s - p.stamp);
                    lastSeen = Math.max(lastSeen, s);
                }
            }
        }
        for (int fd : fds) bpf.close(fd);
        return String.format(Locale.ROOT, "published=%d failed_puts=%d publish_s=%.2f publish_rate_per_s=%.0f all_in_maps_s=%.2f missing=%d %s %s %s",
                acks.size(), failed.get(), (publishedAt - t0) / 1e9, acks.size() / Math.max(1e-9, (publishedAt - t0) / 1e9),
                missing == 0 ? (lastSeen - t0) / 1e9 : -1.0, missing, stats("bulk", lat), stats("put_ack", acks), poller.resolution());
    }

    String steady(double rate, double seconds, String[] args) throws Throwable {
        long deadline = System.nanoTime() + (long) ((seconds + 120) * 1e9);
        int[] fds = open(args, 3, deadline);
        Poller poller = new Poller(fds, 1_000_000L);
        int total = (int) Math.round(rate * seconds);
        List<Probe> adds = new ArrayList<>(), dels = new ArrayList<>();
        Thread publisher = new Thread(() -> {
            long t0 = System.nanoTime();
            for (int k = 0; k < total; k++) {
                long due = t0 + (long) (k * 1e9 / rate);
                long wait = due - System.nanoTime();
                if (wait > 0) LockSupport.parkNanos(wait);
                int n = k % nodes;
                int a = nextAddr[n]++ % 4000;
                Integer old = live.get(n).poll();
                Probe add = new Probe(n, a, identity(n, a), true, fds.length);
                try {
                    add.stamp = System.nanoTime();
                    put(ipKey(n, a), ipValue(n, a), leases[n]);
                    add.acked = System.nanoTime();
                    live.get(n).add(a);
                    adds.add(add);
                    poller.incoming.add(add);
                    if (old != null) {
                        Probe del = new Probe(n, old, identity(n, old), false, fds.length);
                        del.stamp = System.nanoTime();
                        delete(ipKey(n, old));
                        del.acked = System.nanoTime();
                        dels.add(del);
                        poller.incoming.add(del);
                    }
                } catch (IOException e) {
                    System.err.println("ClusterLoad: steady write failed: " + e.getMessage());
                }
            }
        }, "publisher");
        long t0 = System.nanoTime();
        publisher.start();
        while (System.nanoTime() < deadline && (publisher.isAlive() || poller.pass() > 0)) {
            if (!publisher.isAlive()) continue;
            poller.pass();
        }
        publisher.join(10_000);
        double took = (System.nanoTime() - t0) / 1e9;
        List<Long> addLat = new ArrayList<>(), delLat = new ArrayList<>(), acks = new ArrayList<>();
        int missing = 0;
        synchronized (adds) {
            for (Probe p : adds) {
                acks.add(p.acked - p.stamp);
                for (long s : p.seen) if (s == 0) missing++; else addLat.add(s - p.stamp);
            }
            for (Probe p : dels) for (long s : p.seen) if (s == 0) missing++; else delLat.add(s - p.stamp);
        }
        for (int fd : fds) bpf.close(fd);
        return String.format(Locale.ROOT, "adds=%d deletes=%d achieved_rate_per_s=%.2f steady_s=%.1f missing=%d %s %s %s %s",
                adds.size(), dels.size(), adds.size() / Math.max(1e-9, took), took, missing, stats("add", addLat),
                stats("delete", delLat), stats("put_ack", acks), poller.resolution());
    }

    String sync(long deadlineS, String map) throws Throwable {
        long deadline = System.nanoTime() + deadlineS * 1_000_000_000L;
        int[] fds = open(new String[] {map}, 0, deadline);
        long opened = System.currentTimeMillis();
        Poller poller = new Poller(fds, 20_000_000L);
        int count = 0;
        for (int n = 0; n < nodes; n++) {
            for (int a : live.get(n)) {
                poller.incoming.add(new Probe(n, a, identity(n, a), true, 1));
                count++;
            }
        }
        int left = count;
        while (System.nanoTime() < deadline && (left = poller.pass()) > 0) {
            // poll until the map holds every entry
        }
        long done = System.currentTimeMillis();
        bpf.close(fds[0]);
        return "entries=" + count + " missing=" + left + " map_pinned_epoch_ms=" + opened + " all_in_map_epoch_ms="
                + (left == 0 ? done : -1) + " " + poller.resolution();
    }

    String quit() {
        int revoked = 0;
        for (long l : leases) {
            if (l == 0) continue;
            try {
                call("/v3/lease/revoke", "{\"ID\":\"" + l + "\"}");
                revoked++;
            } catch (IOException e) {
                System.err.println("ClusterLoad: revoke failed: " + e.getMessage());
            }
        }
        return "revoked=" + revoked;
    }

    // ------------------------------------------------------------------ libbpf through the foreign linker

    static final class Bpf {
        final MethodHandle objGet, lookup, close;
        final ResourceScope scope = ResourceScope.newSharedScope();
        final MemorySegment key = MemorySegment.allocateNative(20, scope);
        final MemorySegment value = MemorySegment.allocateNative(8, scope);

        Bpf() {
            String lib = System.getProperty("libbpf", "/lib/x86_64-linux-gnu/libbpf.so.1");
            System.load(lib);
            CLinker c = CLinker.getInstance();
            SymbolLookup l = SymbolLookup.loaderLookup();
            objGet = c.downcallHandle(l.lookup("bpf_obj_get").orElseThrow(), MethodType.methodType(int.class, MemoryAddress.class),
                    FunctionDescriptor.of(CLinker.C_INT, CLinker.C_POINTER));
            lookup = c.downcallHandle(l.lookup("bpf_map_lookup_elem").orElseThrow(),
                    MethodType.methodType(int.class, int.class, MemoryAddress.class, MemoryAddress.class),
                    FunctionDescriptor.of(CLinker.C_INT, CLinker.C_INT, CLinker.C_POINTER, CLinker.C_POINTER));
            close = c.downcallHandle(CLinker.systemLookup().lookup("close").orElseThrow(), MethodType.methodType(int.class, int.class),
                    FunctionDescriptor.of(CLinker.C_INT, CLinker.C_INT));
        }

        int objGet(String path) throws Throwable {
            try (ResourceScope s = ResourceScope.newConfinedScope()) {
                int fd = (int) objGet.invokeExact(CLinker.toCString(path, s).address());
                if (fd < 0) throw new IOException("bpf_obj_get " + path + ": " + fd);
                return fd;
            }
        }

        /** The identity the ipcache gives to an IPv4 /32 (stored IPv4-mapped, prefix length 128), or -1 on a miss. */
        long lookup(int fd, int[] ipv4) throws Throwable {
            MemoryAccess.setIntAtOffset(key, 0, 128);
            for (int i = 0; i < 10; i++) MemoryAccess.setByteAtOffset(key, 4 + i, (byte) 0);
            MemoryAccess.setByteAtOffset(key, 14, (byte) 0xff);
            MemoryAccess.setByteAtOffset(key, 15, (byte) 0xff);
            for (int i = 0; i < 4; i++) MemoryAccess.setByteAtOffset(key, 16 + i, (byte) ipv4[i]);
            int rc = (int) lookup.invokeExact(fd, key.address(), value.address());
            return rc == 0 ? Integer.toUnsignedLong(MemoryAccess.getIntAtOffset(value, 0)) : -1;
        }

        void close(int fd) throws Throwable {
            int ignored = (int) close.invokeExact(fd);
        }
    }

    // ------------------------------------------------------------------ main

    public static void main(String[] args) throws Throwable {
        if (args.length < 4) {
            System.err.println("usage: ClusterLoad ETCD_URL NODES ENDPOINTS IDENTITIES (then commands on stdin)");
            System.exit(2);
        }
        ClusterLoad load = new ClusterLoad(args[0], Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.out.println("RESULT ready=1");
        for (String line; (line = in.readLine()) != null; ) {
            String[] a = line.trim().split("\\s+");
            String out;
            try {
                out = switch (a[0]) {
                    case "setup" -> load.setup();
                    case "bulk" -> load.bulk(Integer.parseInt(a[1]), Long.parseLong(a[2]), a);
                    case "steady" -> load.steady(Double.parseDouble(a[1]), Double.parseDouble(a[2]), a);
                    case "sync" -> load.sync(Long.parseLong(a[1]), a[2]);
                    case "quit" -> load.quit();
                    default -> "error=unknown_command";
                };
            } catch (Throwable e) {
                e.printStackTrace();
                out = "error=" + e.toString().replaceAll("\\s+", "_");
            }
            System.out.println("RESULT " + out);
            System.out.flush();
            if (a[0].equals("quit")) break;
        }
    }
}
