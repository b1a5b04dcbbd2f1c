package io.septum.proxy.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.ComponentStatus;
import io.septum.api.datapath.Datapath;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** What a proxy's runner tells the datapath about its port, across a restart of the proxy. */
class ProxyRunnerTest {
    private static final Logger LOG = Logger.getLogger(ProxyRunnerTest.class.getName());
    final List<Integer> ports = new CopyOnWriteArrayList<>();
    final ProxyInputs inputs = new ProxyInputs();

    /** A datapath that records the L7 proxy ports it is told (every other call answers a default). */
    private Datapath datapath() {
        return (Datapath) Proxy.newProxyInstance(Datapath.class.getClassLoader(), new Class<?>[] {Datapath.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("setProxyPort")) ports.add((Integer) args[0]);
                    if (method.getReturnType() == List.class) return List.of();
                    return method.getReturnType() == boolean.class ? false : null;
                });
    }

    private ProxyRunner runner(int port) {
        return new ProxyRunner("L7 proxy", "test-proxy", LOG, () -> new InetSocketAddress("127.0.0.1", port),
                Datapath::setProxyPort, inputs);
    }

    private static void await(String what, BooleanSupplier ok) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!ok.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    @Test
    void theDatapathLearnsThePortOnceBoundAndAStoppedProxyClearsIt() throws Exception {
        ProxyRunner a = runner(1000);
        await("listening", () -> a.health("proxy", "closed", "on ", p -> "port " + p).state().equals("degraded")
                || a.health("proxy", "closed", "on ", p -> "port " + p).state().equals("ok"));
        inputs.bindDatapath(datapath());
        await("told the datapath", () -> ports.contains(1000));
        ComponentStatus ok = a.health("proxy", "closed", "listening on port ", p -> "listening on port " + p);
        assertEquals("ok", ok.state(), ok.toString());
        a.close();
        await("cleared on close", () -> !ports.isEmpty() && ports.get(ports.size() - 1) == 0);
    }

    @Test
    void anOldInstanceClosingAfterANewOneStartedLeavesTheNewPort() throws Exception {
        inputs.bindDatapath(datapath());
        ProxyRunner old = runner(1000);
        await("the old instance's port", () -> ports.contains(1000));
        // a configuration change: the new instance is up (its port set) before the old one's stop has run
        ProxyRunner fresh = runner(2000);
        await("the new instance's port", () -> ports.contains(2000));
        old.close();
        // the old instance's stop thread (started by close) has had its turn
        await("the old instance's stop done", () -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().equals("L7-proxy-stop") && t.isAlive()));
        assertEquals(2000, ports.get(ports.size() - 1), "the new port stays: " + ports);
        fresh.close();
        await("cleared when the last instance stops", () -> ports.get(ports.size() - 1) == 0);
    }
}
