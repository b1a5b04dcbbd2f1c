package io.septum.endpoints.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.Identity;
import io.septum.api.IpcacheEntry;
import io.septum.api.Labels;
import io.septum.api.NamedPort;
import io.septum.api.RemoteEndpoint;
import io.septum.api.RemoteEndpointChanges;
import io.septum.api.RemoteEndpoints;
import io.septum.api.ReservedIdentity;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The delta path (a view that serves {@link RemoteEndpoints#changesSince}, followed by {@link RemoteEndpointView}
 * into {@link RemoteIpcache} and merged by {@link IpcacheBuilder}) against the full path (the same view's whole list
 * every pass) and against the ipcache as the passes built it before deltas (one map, each layer put over the one
 * before): after every pass over one to three random events (publishes, deletes, duplicate claims, re-lists, and
 * labels that become known or not), the ipcaches, the identities and the named ports are the same.
 */
class RemoteDeltaTest {
    static final long NODE_ID = ReservedIdentity.REMOTE_NODE.id();

    @Test
    void randomChangesGiveTheSameIpcacheByDeltasAsByWholeLists() {
        int steps = 0, deltas = 0;
        for (long seed = 1; seed <= 30; seed++) {
            Random rnd = new Random(seed);
            Publisher published = new Publisher();
            Fakes.Allocator allocator = new Fakes.Allocator();
            for (int i = 0; i < 6; i++) allocator.allocate(Labels.of(new io.septum.api.Label("k8s", "app", "a" + i)));
            RemoteEndpointView deltaView = new RemoteEndpointView(() -> { });
            RemoteEndpointView fullView = new RemoteEndpointView(() -> { });
            deltaView.set(published);
            fullView.set(new RemoteEndpoints() {
                public List<RemoteEndpoint> list() {
                    return published.list();
                }

                public void addListener(Runnable l) { }

                public void removeListener(Runnable l) { }
            });
            RemoteIpcache byDeltas = new RemoteIpcache(), byLists = new RemoteIpcache();
            Map<String, Identity> cidrs = Map.of("10.1.0.0/16", new Identity(16777217, List.of("cidr:10.1.0.0/16"), false),
                    "10.1.0.3/32", new Identity(16777218, List.of("cidr:10.1.0.3/32"), false));
            List<String> host = List.of("10.1.0.4");
            for (int step = 0; step < 300; step++) {
                // one to three events per pass, as passes coalesce them
                for (int events = 1 + rnd.nextInt(3); events > 0; events--) {
                    int op = rnd.nextInt(20);
                    String key = "node-" + rnd.nextInt(3) + "/" + rnd.nextInt(12);
                    if (op == 0) {
                        published.relist(rnd);
                    } else if (op == 1) {
                        allocator.hidden.clear();
                        for (int i = 0; i < 2; i++) allocator.hidden.add(256L + rnd.nextInt(6));
                    } else if (op < 9) {
                        published.delete(key);
                    } else {
                        published.publish(key, endpoint(rnd, key.substring(0, key.indexOf('/'))));
                    }
                }
                deltaView.update(allocator, byDeltas);
                fullView.update(allocator, byLists);
                String at = "seed " + seed + " step " + step;
                List<IpcacheEntry> viaDeltas = build(cidrs, byDeltas, host);
                assertEquals(build(cidrs, byLists, host), viaDeltas, at);
                assertEquals(asBefore(cidrs, published.list(), fullView, host), viaDeltas, at);
                assertEquals(byLists.identities(), byDeltas.identities(), at);
                assertEquals(NamedPorts.byIdentity(List.of(), byLists.withNamedPorts()),
                        NamedPorts.byIdentity(List.of(), byDeltas.withNamedPorts()), at);
                assertEquals(fullView.labelsMissing(), deltaView.labelsMissing(), at);
                steps++;
                if (!published.lastWasFull) deltas++;
            }
        }
        assertTrue(deltas > steps / 2, deltas + " of " + steps + " passes went by changes");
    }

    /**
     * An endpoint waiting for its labels, replaced in the same pass as its labels become known by one whose labels are
     * not known: the replacement counts, so the address stays out of the ipcache (the old one must not come back).
     */
    @Test
    void aWaitingEndpointReplacedAsItsLabelsArriveDoesNotComeBack() {
        Publisher published = new Publisher();
        Fakes.Allocator allocator = new Fakes.Allocator();
        for (int i = 0; i < 2; i++) allocator.allocate(Labels.of(new io.septum.api.Label("k8s", "app", "a" + i)));
        RemoteEndpointView view = new RemoteEndpointView(() -> { });
        view.set(published);
        RemoteIpcache cache = new RemoteIpcache();
        published.publish("node-1/a", new RemoteEndpoint("10.2.0.1", 300, "node-1", "ns", "other"));
        view.update(allocator, cache);
        allocator.hidden.addAll(List.of(256L, 257L));
        published.publish("node-1/x", new RemoteEndpoint("10.2.0.9", 256, "node-1", "ns", "x"));
        view.update(allocator, cache);
        assertTrue(view.labelsMissing());
        allocator.hidden.remove(256L);
        published.publish("node-1/x", new RemoteEndpoint("10.2.0.9", 257, "node-1", "ns", "x"));
        view.update(allocator, cache);
        assertFalse(published.lastWasFull);
        assertEquals(List.of(), cache.entries().stream().filter(e -> e.prefix().equals("10.2.0.9/32")).toList());
        assertTrue(view.labelsMissing());
    }

    private static List<IpcacheEntry> build(Map<String, Identity> cidrs, RemoteIpcache remote, List<String> host) {
        return new IpcacheBuilder().cidrs(cidrs).remote(remote).host(host).endpoint(7, 300, List.of("10.1.0.5")).build();
    }

    /** What a pass built before deltas: every layer put over the one before in one sorted map. */
    private static List<IpcacheEntry> asBefore(Map<String, Identity> cidrs, List<RemoteEndpoint> remote,
                                               RemoteEndpointView labels, List<String> host) {
        Map<String, IpcacheEntry> m = new TreeMap<>();
        cidrs.forEach((p, i) -> m.put(p, new IpcacheEntry(p, i.id(), "policy-cidr")));
        for (RemoteEndpoint r : remote) {
            String ip = IpAddresses.parse(r.ip());
            if (ip == null || (r.identity() >= ReservedIdentity.FIRST_ALLOCATED && labels.identity(r.identity()) == null)) continue;
            m.put(IpAddresses.hostPrefix(ip), new IpcacheEntry(IpAddresses.hostPrefix(ip), r.identity(), r.source()));
        }
        for (String h : host) m.put(h + "/32", new IpcacheEntry(h + "/32", ReservedIdentity.HOST.id(), "host"));
        m.put("10.1.0.5/32", new IpcacheEntry("10.1.0.5/32", 300, "endpoint:7"));
        return List.copyOf(m.values());
    }

    /** Few addresses, some spelled two ways (one prefix), so that claims collide. */
    private static RemoteEndpoint endpoint(Random rnd, String node) {
        String[] ips = {"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.2.0.1", "10.2.0.2", "fd00::1",
                "fd00:0::1", "fd00::2", "FD00::2", "not-an-ip"};
        String ip = ips[rnd.nextInt(ips.length)];
        long id = rnd.nextInt(8) == 0 ? NODE_ID : 256 + rnd.nextInt(6);
        List<NamedPort> ports = rnd.nextInt(4) == 0 ? List.of(new NamedPort("http", 8000 + rnd.nextInt(3), "TCP")) : List.of();
        return new RemoteEndpoint(ip, id, node, "ns", "ep", ports);
    }

    /**
     * A view that keeps a history as IpcacheSync does: claims by key, an address that two keys claim is nobody's,
     * the list sorted by address, and the changes since any version it still keeps (a re-list forgets them).
     */
    static final class Publisher implements RemoteEndpoints {
        final Map<String, RemoteEndpoint> claims = new HashMap<>();
        final List<Map<String, RemoteEndpoint>> versions = new ArrayList<>(List.of(Map.of()));
        int oldestKept;
        boolean lastWasFull;

        void publish(String key, RemoteEndpoint e) {
            claims.put(key, e);
            settle();
        }

        void delete(String key) {
            claims.remove(key);
            settle();
        }

        /** Some keys go missing in the re-list, and consumers get the whole list next. */
        void relist(Random rnd) {
            claims.keySet().removeIf(k -> rnd.nextInt(5) == 0);
            settle();
            oldestKept = versions.size() - 1;
        }

        private void settle() {
            Map<String, Integer> count = new HashMap<>();
            for (RemoteEndpoint e : claims.values()) count.merge(e.ip(), 1, Integer::sum);
            Map<String, RemoteEndpoint> accepted = new TreeMap<>();
            for (RemoteEndpoint e : claims.values()) if (count.get(e.ip()) == 1) accepted.put(e.ip(), e);
            if (!accepted.equals(versions.get(versions.size() - 1))) versions.add(accepted);
        }

        @Override
        public List<RemoteEndpoint> list() {
            return List.copyOf(versions.get(versions.size() - 1).values());
        }

        @Override
        public RemoteEndpointChanges changesSince(long version) {
            int now = versions.size() - 1;
            lastWasFull = version <= 0 || version < oldestKept || version > now;
            if (lastWasFull) return RemoteEndpointChanges.everything(now, list());
            Map<String, RemoteEndpoint> before = versions.get((int) version), after = versions.get(now);
            List<RemoteEndpoint> upserted = new ArrayList<>();
            List<String> removed = new ArrayList<>();
            for (RemoteEndpoint e : after.values()) if (!e.equals(before.get(e.ip()))) upserted.add(e);
            for (String ip : before.keySet()) if (!after.containsKey(ip)) removed.add(ip);
            return new RemoteEndpointChanges(now, false, upserted, removed);
        }

        @Override
        public void addListener(Runnable onChange) {
        }

        @Override
        public void removeListener(Runnable onChange) {
        }
    }
}
