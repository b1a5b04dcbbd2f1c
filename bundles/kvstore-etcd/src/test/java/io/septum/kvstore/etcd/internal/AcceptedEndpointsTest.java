package io.septum.kvstore.etcd.internal;

import io.septum.api.RemoteEndpoint;
import io.septum.api.RemoteEndpointChanges;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The incremental accepted list against the rule it replaces (rebuild everything from the claims: an address with
 * one claim is accepted, one with two is nobody's), and consumers that follow it by changes against the list.
 */
class AcceptedEndpointsTest {
    @Test
    void randomClaimsWithdrawalsAndRebuildsMatchAFullRebuildAndTheConsumersFollow() {
        for (long seed = 1; seed <= 20; seed++) {
            Random rnd = new Random(seed);
            AcceptedEndpoints table = new AcceptedEndpoints(rnd.nextBoolean() ? 4 : 4096);
            Map<String, RemoteEndpoint> claims = new HashMap<>();
            // consumers that ask after every step, after every few steps, and rarely
            long[] versions = new long[3];
            List<Map<String, RemoteEndpoint>> held = List.of(new TreeMap<>(), new TreeMap<>(), new TreeMap<>());
            int fulls = 0;
            for (int step = 0; step < 2000; step++) {
                int op = rnd.nextInt(20);
                if (op == 0) {
                    // a re-list: the same claims again, most of them, in another order
                    table.beginRebuild();
                    List<String> keys = new ArrayList<>(claims.keySet());
                    java.util.Collections.shuffle(keys, rnd);
                    for (String k : keys) {
                        if (rnd.nextInt(10) == 0) claims.remove(k);
                        else table.claim(k, claims.get(k));
                    }
                    table.endRebuild();
                } else {
                    String key = "k" + rnd.nextInt(60);
                    if (op < 8) {
                        claims.remove(key);
                        table.claim(key, null);
                    } else {
                        // few addresses for many keys: duplicate claims come and go
                        RemoteEndpoint e = new RemoteEndpoint("10.0.0." + rnd.nextInt(40), 256 + rnd.nextInt(3),
                                "node-" + rnd.nextInt(2), "ns", key);
                        claims.put(key, e);
                        table.claim(key, e);
                    }
                }
                List<RemoteEndpoint> expected = rebuild(claims);
                assertEquals(expected, table.list(), "seed " + seed + " step " + step);
                for (int c = 0; c < 3; c++) {
                    if (step % (1 + c * c * 7) != 0) continue;
                    RemoteEndpointChanges ch = table.changesSince(versions[c]);
                    Map<String, RemoteEndpoint> h = held.get(c);
                    if (ch.full()) {
                        fulls++;
                        h.clear();
                    }
                    // an address added and removed since the consumer asked is removed without being given: a no-op
                    for (String ip : ch.removed()) h.remove(ip);
                    for (RemoteEndpoint e : ch.upserted()) h.put(e.ip(), e);
                    versions[c] = ch.version();
                    assertEquals(expected, List.copyOf(h.values()), "consumer " + c + ", seed " + seed + " step " + step);
                }
            }
            assertTrue(fulls >= 3, "every consumer starts with everything");
        }
    }

    @Test
    void aConsumerTooFarBehindOrWithAnUnknownVersionGetsEverything() {
        AcceptedEndpoints table = new AcceptedEndpoints(2);
        for (int i = 0; i < 10; i++) table.claim("k" + i, new RemoteEndpoint("10.0.0." + i, 300, "n", "", ""));
        long v = table.version();
        assertFalse(table.changesSince(v).full());
        assertTrue(table.changesSince(v).isEmpty());
        for (int i = 0; i < 10; i++) table.claim("k" + i, null);
        RemoteEndpointChanges behind = table.changesSince(v);
        assertTrue(behind.full(), "12 changes kept at most, 10 removals after v");
        assertEquals(List.of(), behind.upserted());
        assertTrue(table.changesSince(table.version() + 5).full());
    }

    private static List<RemoteEndpoint> rebuild(Map<String, RemoteEndpoint> claims) {
        Map<String, Integer> count = new HashMap<>();
        for (RemoteEndpoint e : claims.values()) count.merge(e.ip(), 1, Integer::sum);
        TreeMap<String, RemoteEndpoint> out = new TreeMap<>();
        for (RemoteEndpoint e : claims.values()) if (count.get(e.ip()) == 1) out.put(e.ip(), e);
        return List.copyOf(out.values());
    }
}
