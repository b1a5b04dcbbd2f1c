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
 * them. Prints wall and CPU time per change for three rounds of 200 changes (the first warms the JIT).
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
        RemoteEndpoints r = new RemoteEndpoints() {
            public List<RemoteEndpoint> list() { return volatileList; }
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
                next.set(i, new RemoteEndpoint("10.21." + round + "." + (i % 250), next.get(i).identity(), next.get(i).node(), "default", "x" + i));
                volatileList = next;
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
