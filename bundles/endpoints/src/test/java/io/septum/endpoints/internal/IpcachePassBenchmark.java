package io.septum.endpoints.internal;

import io.septum.api.RemoteEndpoint;
import io.septum.api.RemoteEndpoints;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A benchmark, not a test (it judges nothing and runs only on request): the cost of one regeneration pass when one
 * of 10,000 remote endpoints (100 nodes x 100, 1,000 identities) changes, as cluster mode's steady state makes
 * them: the view serves each change as a change ({@link RemoteEndpoints#changesSince}), as cluster mode's does.
 * Prints wall and CPU time per change for three rounds of 200 changes (the first warms the JIT).
 * {@code mvn -pl bundles/endpoints -am verify -Dtest=IpcachePassBenchmark -Dseptum.bench.ipcachePass=true
 * -Dsurefire.failIfNoSpecifiedTests=false}
 */
@EnabledIfSystemProperty(named = "septum.bench.ipcachePass", matches = "true")
class IpcachePassBenchmark {
    @TempDir
    Path dir;

    @Test
    void measure() throws Exception {
        Fakes.Allocator ids = new Fakes.Allocator();
        for (int i = 0; i < 1000; i++) ids.allocate(io.septum.api.Labels.of(new io.septum.api.Label("k8s", "app", "a" + i)));
        var m = new DefaultEndpointManager(new DefaultEndpointManager.Settings(dir, Duration.ofSeconds(30), Duration.ofMillis(100)),
                ids, new Fakes.Policies(), new Fakes.FakeDatapath(), new Fakes.Host(), x -> { });
        List<Runnable> ls = new CopyOnWriteArrayList<>();
        volatileList = new ArrayList<>();
        for (int n = 0; n < 100; n++) for (int e = 0; e < 100; e++) {
            volatileList.add(new RemoteEndpoint("10.20." + n + "." + e, io.septum.api.ReservedIdentity.FIRST_ALLOCATED + ((n * 100 + e) % 1000), "node-" + n, "default", "ep" + e));
        }
        List<io.septum.api.RemoteEndpointChanges> history = new CopyOnWriteArrayList<>();
        RemoteEndpoints r = new RemoteEndpoints() {
            public List<RemoteEndpoint> list() { return volatileList; }
            public io.septum.api.RemoteEndpointChanges changesSince(long v) {
                // version n: the list after the n-th change; one change behind gets it, anything else the whole list
                int now = history.size();
                if (v == now) return new io.septum.api.RemoteEndpointChanges(now, false, List.of(), List.of());
                if (v == now - 1 && v > 0) return history.get(now - 1);
                return io.septum.api.RemoteEndpointChanges.everything(now, volatileList);
            }
            public void addListener(Runnable l) { ls.add(l); }
            public void removeListener(Runnable l) { ls.remove(l); }
        };
        m.setRemoteEndpoints(r);
        m.awaitIdle(Duration.ofSeconds(30));
        for (int round = 0; round < 3; round++) {
            long t0 = System.nanoTime();
            long c0 = cpu();
            int changes = 200;
            for (int i = 0; i < changes; i++) {
                List<RemoteEndpoint> next = new ArrayList<>(volatileList);
                RemoteEndpoint old = next.get(i);
                RemoteEndpoint added = new RemoteEndpoint("10.21." + round + "." + (i % 250), old.identity(), old.node(), "default", "x" + i);
                next.set(i, added);
                volatileList = next;
                history.add(new io.septum.api.RemoteEndpointChanges(history.size() + 1, false, List.of(added), List.of(old.ip())));
                ls.forEach(Runnable::run);
                m.awaitIdle(Duration.ofSeconds(30));
            }
            long t1 = System.nanoTime();
            long c1 = cpu();
            System.out.printf("ipcache pass: round %d: %.2f ms wall, %.2f ms CPU (whole JVM) per change (pass with 10k remote)%n",
                    round, (t1 - t0) / 1e6 / changes, (c1 - c0) / 1e6 / changes);
        }
        m.close();
    }

    static volatile List<RemoteEndpoint> volatileList;

    static long cpu() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }
}
