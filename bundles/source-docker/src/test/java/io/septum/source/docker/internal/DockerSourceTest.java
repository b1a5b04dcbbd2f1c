package io.septum.source.docker.internal;

import io.septum.api.EndpointSpec;
import io.septum.testsupport.RecordingSink;
import io.septum.testsupport.RequiresRoot;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

/** The docker source against a real Docker engine (scripts/test-dockerd.sh) and real containers. */
@RequiresRoot("a Docker engine")
class DockerSourceTest {
    private DockerSource source;

    @BeforeAll
    static void engine() throws IOException {
        TestEngine.start();
    }

    @AfterAll
    static void stopEngine() throws IOException {
        TestEngine.stop();
    }

    @AfterEach
    void cleanup() throws IOException {
        if (source != null) source.close();
        String ids = TestEngine.docker("ps", "-aq", "--filter", "name=sept-t-");
        if (!ids.isEmpty()) {
            for (String id : ids.split("\\s+")) TestEngine.docker("rm", "-f", id);
        }
    }

    private DockerSource open(RecordingSink sink, String namespaceFromLabel) {
        source = new DockerSource(new DockerSource.Settings(TestEngine.SOCK, "team-a", namespaceFromLabel,
                Duration.ofSeconds(2), Duration.ofSeconds(10)));
        source.open(sink);
        return source;
    }

    private static String run(String name, String... extra) throws IOException {
        java.util.List<String> args = new java.util.ArrayList<>(List.of("run", "-d", "--name", name));
        args.addAll(List.of(extra));
        args.addAll(List.of(TestEngine.IMAGE, "sleep", "100000"));
        return TestEngine.docker(args.toArray(new String[0]));
    }

    /** The host-side veth of a container, found independently of the source: via ip in its namespace. */
    private static String hostVeth(String id) throws IOException {
        String pid = TestEngine.docker("inspect", "-f", "{{.State.Pid}}", id);
        String inside = TestEngine.run(10, "nsenter", "-t", pid, "-n", "ip", "-o", "link", "show", "eth0");
        Matcher m = Pattern.compile("@if(\\d+)").matcher(inside);
        if (!m.find()) fail("no peer index in " + inside);
        String host = TestEngine.run(10, "ip", "-o", "link");
        Matcher h = Pattern.compile("(?m)^" + m.group(1) + ": ([^:@]+)[@:]").matcher(host);
        if (!h.find()) fail("no host link with ifindex " + m.group(1) + " in\n" + host);
        return h.group(1);
    }

    private static <T> T await(String what, Supplier<T> value) {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < end) {
            T v = value.get();
            if (v != null) return v;
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return fail("timed out waiting for " + what);
    }

    private static void awaitTrue(String what, BooleanSupplier cond) {
        await(what, () -> cond.getAsBoolean() ? Boolean.TRUE : null);
    }

    @Test
    void runningAndStartedContainersAreEndpointsWithAddressVethLabelsAndIds() throws IOException {
        String before = run("sept-t-before", "-l", "app=web", "-l", "tier=front");
        RecordingSink sink = RecordingSink.withoutNamespaces("docker");
        open(sink, "");
        EndpointSpec a = await("the container running before open", () -> sink.specs().get(before));
        String after = run("sept-t-after", "-l", "app=db", "-l", "io.kubernetes.pod.namespace=kube-system",
                "-l", "reserved:host=");
        EndpointSpec b = await("the container started after open", () -> sink.specs().get(after));

        assertEquals("sept-t-before", a.name());
        assertEquals("team-a", a.namespace());
        assertEquals(Map.of("app", "web", "tier", "front"), a.labels());
        assertEquals(List.of(TestEngine.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", before)), a.addresses());
        assertEquals(hostVeth(before), a.interfaceName());
        String pid = TestEngine.docker("inspect", "-f", "{{.State.Pid}}", before);
        assertEquals("/proc/" + pid + "/ns/net", a.netns());
        assertEquals(Map.of("container-id", before, "container-name", "sept-t-before"), a.externalIds());

        // The source passes labels as they are; the endpoint manager refuses the spoofing ones (itests prove it).
        assertEquals("team-a", b.namespace(), "a container label does not pick the namespace unless configured");
        assertEquals("db", b.labels().get("app"));
        assertEquals(hostVeth(after), b.interfaceName());
        assertNotEquals(a.interfaceName(), b.interfaceName());
        assertEquals(Boolean.TRUE, sink.lastHealth().connected());
        assertEquals("container", source.name(), "Cilium's label source for container runtime labels");
    }

    @Test
    void stoppedContainerIsRemoved() throws IOException {
        RecordingSink sink = RecordingSink.withoutNamespaces("docker");
        open(sink, "");
        String id = run("sept-t-stop", "-l", "app=x");
        await("the container", () -> sink.specs().get(id));
        TestEngine.docker("stop", "-t", "1", id);
        awaitTrue("the stopped container to be removed", () -> !sink.specs().containsKey(id));
        TestEngine.docker("start", id);
        await("the restarted container", () -> sink.specs().get(id));
        TestEngine.docker("rm", "-f", id);
        awaitTrue("the removed container to be removed", () -> !sink.specs().containsKey(id));
    }

    @Test
    void namespaceFromLabelTakesDnsLabelsOnly() throws IOException {
        RecordingSink sink = RecordingSink.withoutNamespaces("docker");
        open(sink, "septum.namespace");
        String good = run("sept-t-nsgood", "-l", "septum.namespace=shop");
        String bad = run("sept-t-nsbad", "-l", "septum.namespace=Not_A_Label");
        assertEquals("shop", await("mapped container", () -> sink.specs().get(good)).namespace());
        assertEquals("team-a", await("unmapped container", () -> sink.specs().get(bad)).namespace());
    }

    @Test
    void engineRestartIsSurvivedWithReconnectAndResync() throws IOException {
        String keeps = run("sept-t-always", "--restart", "always", "-l", "app=keep");
        String dies = run("sept-t-once", "-l", "app=once");
        RecordingSink sink = RecordingSink.withoutNamespaces("docker");
        open(sink, "");
        EndpointSpec first = await("the restart-always container", () -> sink.specs().get(keeps));
        await("the one-shot container", () -> sink.specs().get(dies));
        try {
            TestEngine.kill();
            awaitTrue("health disconnected", () -> sink.lastHealth() != null && !sink.lastHealth().connected());
            assertNotNull(sink.lastHealth().error());
            assertFalse(source.health().state().equals("ok"), "status shows the lost engine");
        } finally {
            TestEngine.restart();
        }
        awaitTrue("health connected again", () -> sink.lastHealth().connected());
        EndpointSpec again = await("the restart-always container in its new namespace", () -> {
            EndpointSpec s = sink.specs().get(keeps);
            return s != null && !s.netns().equals(first.netns()) ? s : null;
        });
        assertEquals(hostVeth(keeps), again.interfaceName());
        awaitTrue("the one-shot container gone", () -> !sink.specs().containsKey(dies));
        assertEquals("ok", source.health().state());
    }
}
