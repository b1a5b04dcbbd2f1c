package io.septum.kvstore.etcd.internal;

import io.septum.api.NamedPort;
import io.septum.api.RemoteEndpoint;
import io.septum.testsupport.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The receiving side of the ipcache sync against a real etcd, with another node's keys written by hand. */
class IpcacheSyncTest {
    @RegisterExtension
    static final TestEtcd.PerClass etcd = new TestEtcd.PerClass();

    /**
     * A burst of watch events (another node publishing 2,000 addresses, 100 per transaction) ends with every address
     * accepted (scripts/bench-cluster.sh: when each event rebuilt the list, 10,000 published addresses kept the
     * agents' watch threads busy for minutes), and a consumer that follows by changes then gets one deletion as one
     * removed address, not as the whole list again.
     */
    @Test
    void aBurstOfEventsIsAppliedAndFollowedByChanges() throws Exception {
        int n = 2000;
        EtcdClient writer = etcd.client();
        EtcdClient reader = etcd.client();
        LeaseSession lease = new LeaseSession(reader, 30);
        Executor inline = Runnable::run;
        IpcacheSync sync = new IpcacheSync(reader, lease, new IpcacheSync.NodeInfo("node-b", List.of("192.0.2.2"),
                List.of("10.2.0.0/16"), "test", System.currentTimeMillis()), inline);
        long nodeLease = writer.grant(600);
        try {
            sync.start();
            writer.put(IpcacheSync.NODE_PREFIX + "node-a", "{\"name\":\"node-a\",\"addresses\":[\"192.0.2.1\"],"
                    + "\"cidrs\":[\"10.1.0.0/16\"],\"version\":\"test\",\"startTime\":1}", nodeLease);
            for (int i = 0; i < n; i += 100) {
                List<EtcdClient.Op> puts = new ArrayList<>();
                for (int j = i; j < i + 100; j++) {
                    String ip = "10.1." + (j / 250) + "." + (j % 250 + 1);
                    puts.add(new EtcdClient.Op.Put(IpcacheSync.IP_PREFIX + "node-a/" + ip, "{\"ip\":\"" + ip
                            + "\",\"identity\":" + (256 + j % 50) + ",\"node\":\"node-a\",\"namespace\":\"ns\",\"name\":\"ep" + j + "\"}",
                            nodeLease));
                }
                assertTrue(writer.txn(List.of(), puts, List.of()).succeeded());
            }
            // every address, and node-a's own address as remote-node
            await("all " + n + " addresses accepted", () -> sync.list().size() == n + 1);
            RemoteEndpoint e = sync.list().stream().filter(r -> r.ip().equals("10.1.0.1")).findFirst().orElseThrow();
            assertEquals(256, e.identity());
            assertEquals("node-a", e.node());
            io.septum.api.RemoteEndpointChanges all = sync.changesSince(0);
            assertTrue(all.full());
            assertEquals(sync.list(), all.upserted());

            // a deletion after the burst is applied too, and reaches the consumer as itself
            writer.delete(IpcacheSync.IP_PREFIX + "node-a/10.1.0.1");
            await("the deleted address gone", () -> sync.list().stream().noneMatch(r -> r.ip().equals("10.1.0.1")));
            assertEquals(n, sync.list().size());
            io.septum.api.RemoteEndpointChanges next = sync.changesSince(all.version());
            assertEquals(new io.septum.api.RemoteEndpointChanges(all.version() + 1, false, List.of(), List.of("10.1.0.1")), next);
        } finally {
            sync.close();
            lease.close();
            try {
                writer.revoke(nodeLease);
            } catch (java.io.IOException ignored) {
                // best effort: etcd is discarded after the class
            }
            writer.close();
            reader.close();
        }
    }

    /**
     * Named ports cross nodes with the address: node-b publishes its endpoint's names in the ip key, and a node that
     * reads node-a's key gets them on the remote endpoint, so egress rules naming a port resolve on remote peers.
     */
    @Test
    void namedPortsArePublishedAndReadWithTheAddress() throws Exception {
        EtcdClient writer = etcd.client();
        EtcdClient reader = etcd.client();
        LeaseSession lease = new LeaseSession(reader, 30);
        IpcacheSync sync = new IpcacheSync(reader, lease, new IpcacheSync.NodeInfo("node-b", List.of("192.0.2.2"),
                List.of("10.2.0.0/16"), "test", System.currentTimeMillis()), Runnable::run);
        long nodeLease = writer.grant(600);
        List<NamedPort> ports = List.of(new NamedPort("http", 8080, "TCP"), new NamedPort("dns", 53, "UDP"));
        try {
            sync.start();
            writer.put(IpcacheSync.NODE_PREFIX + "node-a", "{\"name\":\"node-a\",\"addresses\":[\"192.0.2.1\"],"
                    + "\"cidrs\":[\"10.1.0.0/16\"],\"version\":\"test\",\"startTime\":1}", nodeLease);
            writer.put(IpcacheSync.IP_PREFIX + "node-a/10.1.0.7", "{\"ip\":\"10.1.0.7\",\"identity\":300,"
                    + "\"node\":\"node-a\",\"namespace\":\"ns\",\"name\":\"web\",\"ports\":[\"http=8080/TCP\",\"dns=53/UDP\"]}",
                    nodeLease);
            await("node-a's endpoint", () -> sync.list().stream().anyMatch(r -> r.ip().equals("10.1.0.7")));
            RemoteEndpoint e = sync.list().stream().filter(r -> r.ip().equals("10.1.0.7")).findFirst().orElseThrow();
            assertEquals(ports, e.namedPorts());

            sync.endpointsChanged(new io.septum.api.EndpointSnapshot(1, List.of(new io.septum.api.Endpoint(1, "api", "ns",
                    "netns", List.of(), 301, io.septum.api.EndpointState.READY, List.of("10.2.0.9"), "veth9", 9, null,
                    false, false, java.util.Map.of(), 1, null, false, ports)), List.of()));
            await("node-b's endpoint published", () -> {
                try {
                    return writer.get(IpcacheSync.IP_PREFIX + "node-b/10.2.0.9").kvs().size() == 1;
                } catch (java.io.IOException x) {
                    return false;
                }
            });
            String v = writer.get(IpcacheSync.IP_PREFIX + "node-b/10.2.0.9").first().value();
            assertTrue(v.contains("\"ports\":[\"http=8080/TCP\",\"dns=53/UDP\"]"), v);
        } finally {
            sync.close();
            lease.close();
            writer.close();
            reader.close();
        }
    }

    private static void await(String what, BooleanSupplier cond) throws InterruptedException {
        Await.until(what, Duration.ofSeconds(30), cond);
    }
}
