package io.septum.source.netns.internal;

import io.septum.api.EndpointSink;
import io.septum.api.EndpointSpec;
import io.septum.api.SourceHealth;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.*;

/** Against real network namespaces and veths made here and removed afterwards, even when a test fails. */
@EnabledIfSystemProperty(named = "user.name", matches = "root")
class NetnsSourceTest {
    @TempDir
    Path tmp;
    Path etc;
    Path state;
    String ns;
    String hostIf;
    int subnet;
    final List<NetnsSource> sources = new ArrayList<>();
    final CommandRunner sh = new CommandRunner(Duration.ofSeconds(10));

    /** Records what the source reports. */
    static final class Sink implements EndpointSink {
        final List<EndpointSpec> upserts = new CopyOnWriteArrayList<>();
        final List<String> removes = new CopyOnWriteArrayList<>();
        volatile Set<String> live;
        volatile SourceHealth health;

        @Override
        public void upsert(EndpointSpec spec) {
            upserts.add(spec);
        }

        @Override
        public void remove(String sourceId) {
            removes.add(sourceId);
        }

        @Override
        public void resync(Collection<String> liveSourceIds) {
            live = Set.copyOf(liveSourceIds);
        }

        @Override
        public void health(SourceHealth h) {
            health = h;
        }

        EndpointSpec last(String id) {
            for (int i = upserts.size() - 1; i >= 0; i--) if (upserts.get(i).sourceId().equals(id)) return upserts.get(i);
            return null;
        }
    }

    static void await(String what, BooleanSupplier c) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < end) {
            if (c.getAsBoolean()) return;
            Thread.sleep(20);
        }
        throw new AssertionError("timed out waiting for: " + what);
    }

    void ip(String... args) throws IOException {
        List<String> argv = new ArrayList<>(List.of("ip"));
        argv.addAll(List.of(args));
        sh.run(argv);
    }

    @BeforeEach
    void namespace() throws IOException {
        String suffix = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xffffff));
        ns = "sept-t" + suffix;
        hostIf = "st" + suffix + "h";
        subnet = ThreadLocalRandom.current().nextInt(1, 250);
        etc = tmp.resolve("etc/endpoints");
        state = tmp.resolve("state");
        Files.createDirectories(etc);
        ip("netns", "add", ns);
        ip("link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns);
        ip("-n", ns, "addr", "add", "10.199." + subnet + ".2/24", "dev", "eth0");
        ip("-n", ns, "-6", "addr", "add", "fd00:199:" + Integer.toHexString(subnet) + "::2/64", "dev", "eth0", "nodad");
        ip("-n", ns, "link", "set", "eth0", "up");
        ip("-n", ns, "link", "set", "lo", "up");
        ip("link", "set", hostIf, "up");
    }

    @AfterEach
    void cleanup() {
        sources.forEach(NetnsSource::close);
        try {
            ip("netns", "del", ns);
        } catch (IOException ignored) {
            // already gone
        }
        try {
            ip("link", "del", hostIf);
        } catch (IOException ignored) {
            // went with the namespace
        }
    }

    NetnsSource source() {
        var s = new NetnsSource(new NetnsSource.Settings(etc, state, Duration.ofMillis(200), Duration.ofMillis(300),
                Duration.ofSeconds(5)));
        sources.add(s);
        return s;
    }

    void declare(String file, String yaml) throws IOException {
        // Write then move, as an editor or config tool would, so the poller never sees half a file.
        Path t = Files.createTempFile(tmp, "decl", ".tmp");
        Files.writeString(t, yaml);
        Files.move(t, etc.resolve(file), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void declaredNamespaceBecomesAnEndpointAndFollowsItsAddresses() throws Exception {
        declare("a.yaml", """
                endpoints:
                  - name: deathstar
                    namespace: empire
                    netns: %s
                    labels: {org: empire, class: deathstar}
                """.formatted(ns));
        var sink = new Sink();
        source().open(sink);
        String id = "empire/deathstar";
        await("endpoint reported", () -> sink.last(id) != null);
        EndpointSpec spec = sink.last(id);
        assertEquals(hostIf, spec.interfaceName(), "the host side of the namespace's veth");
        assertEquals("deathstar", spec.name());
        assertEquals("empire", spec.namespace());
        assertEquals(ns, spec.netns());
        assertEquals(Map.of("org", "empire", "class", "deathstar"), spec.labels(), "only the declared labels");
        assertEquals(ns, spec.externalIds().get("netns"));
        assertEquals(Files.readString(Path.of("/sys/class/net", hostIf, "ifindex")).trim(),
                spec.externalIds().get("hostIfindex"));
        assertTrue(spec.addresses().contains("10.199." + subnet + ".2"), spec.addresses().toString());
        assertTrue(spec.addresses().contains("fd00:199:" + Integer.toHexString(subnet) + "::2"), spec.addresses().toString());
        assertTrue(spec.addresses().stream().noneMatch(a -> a.startsWith("fe80") || a.startsWith("127.")),
                "no link-local or loopback: " + spec.addresses());
        await("resync lists it", () -> sink.live != null && sink.live.contains(id));

        ip("-n", ns, "addr", "add", "10.199." + subnet + ".3/24", "dev", "eth0");
        await("new address reported", () -> sink.last(id).addresses().contains("10.199." + subnet + ".3"));

        // A broken file is ignored and changes nothing else.
        int before = sink.upserts.size();
        declare("b.yaml", "endpoints:\n  - name: x\n    colour: red\n");
        await("bad file reported", () -> sink.health != null && sink.health.error() != null
                && sink.health.error().contains("b.yaml") && sink.health.error().contains("colour"));
        // A typo in the good file keeps its endpoints too.
        declare("a.yaml", "endpoints:\n  - name: deathstar\n    netns: [oops\n");
        await("a.yaml error reported", () -> sink.health.error().contains("a.yaml"));
        long t = System.currentTimeMillis();
        await("another scan", () -> sink.health.lastSync() > t);
        assertTrue(sink.live.contains(id), "a broken file must not remove its endpoints");
        assertTrue(sink.removes.isEmpty());
        assertEquals(before, sink.upserts.size(), "nothing changed, nothing reported");

        Files.delete(etc.resolve("a.yaml"));
        await("endpoint gone with its file", () -> !sink.live.contains(id));
    }

    @Test
    void recreatedVethIsReportedWithItsNewIndex() throws Exception {
        declare("a.yaml", "endpoints:\n  - name: xwing\n    netns: " + ns + "\n");
        var sink = new Sink();
        source().open(sink);
        await("reported", () -> sink.last("default/xwing") != null);
        String first = sink.last("default/xwing").externalIds().get("hostIfindex");
        ip("link", "del", hostIf);
        ip("link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns);
        ip("-n", ns, "addr", "add", "10.199." + subnet + ".2/24", "dev", "eth0");
        ip("-n", ns, "link", "set", "eth0", "up");
        ip("link", "set", hostIf, "up");
        await("new index reported", () -> sink.last("default/xwing") != null
                && !first.equals(sink.last("default/xwing").externalIds().get("hostIfindex"))
                && sink.last("default/xwing").addresses().contains("10.199." + subnet + ".2"));
        assertEquals(hostIf, sink.last("default/xwing").interfaceName());
    }

    @Test
    void vanishedNamespaceRemovesTheEndpoint() throws Exception {
        declare("a.yaml", "endpoints:\n  - name: xwing\n    netns: " + ns + "\n    labels: {org: alliance}\n");
        var sink = new Sink();
        source().open(sink);
        await("reported", () -> sink.live != null && sink.live.contains("default/xwing"));
        assertNull(sink.last("default/xwing").namespace(), "no namespace declared: the manager picks the default");
        ip("netns", "del", ns);
        await("removed", () -> !sink.live.contains("default/xwing"));
        assertTrue(sink.health.error().contains("does not exist"), sink.health.error());
    }

    @Test
    void namespaceByPathAndDeclaredInterface() throws Exception {
        declare("a.yaml", """
                endpoints:
                  - name: tiefighter
                    netns: /var/run/netns/%s
                  - name: tiefighter2
                    netns: %s
                    interface: %s
                """.formatted(ns, ns, hostIf));
        var sink = new Sink();
        source().open(sink);
        await("both reported", () -> sink.last("default/tiefighter") != null && sink.last("default/tiefighter2") != null);
        assertEquals(hostIf, sink.last("default/tiefighter").interfaceName());
        assertEquals(hostIf, sink.last("default/tiefighter2").interfaceName());
        assertTrue(sink.last("default/tiefighter").addresses().contains("10.199." + subnet + ".2"));
    }

    @Test
    void operatorAddAndDeleteArePersisted() throws Exception {
        var sink = new Sink();
        var s1 = source();
        s1.open(sink);
        s1.add(new EndpointSpec("ignored", "probe", "dev", Map.of("role", "probe"), null, ns, List.of(), null,
                Map.of("septum-lab", "run1")));
        await("added endpoint reported", () -> sink.last("dev/probe") != null);
        assertEquals(hostIf, sink.last("dev/probe").interfaceName());
        assertEquals(Map.of("netns", ns, "septum-lab", "run1", "hostIfindex",
                Files.readString(Path.of("/sys/class/net", hostIf, "ifindex")).trim()), sink.last("dev/probe").externalIds(),
                "the operator's external ids are kept, so tools can find what they added");
        assertTrue(Files.readString(state.resolve(NetnsSource.STATE_FILE)).contains("probe"));
        var err = assertThrows(IllegalArgumentException.class, () -> s1.add(new EndpointSpec("x", "ghost", null,
                Map.of(), null, "sept-tnonexistent", List.of(), null, Map.of())));
        assertTrue(err.getMessage().contains("does not exist"), err.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s1.add(new EndpointSpec("x", "probe", "dev", Map.of(),
                null, ns, List.of(), null, Map.of())), "duplicate");
        s1.close();

        var sink2 = new Sink();
        var s2 = source();
        assertEquals(List.of("dev/probe"), s2.declared().stream().map(Declarations.Declared::sourceId).toList());
        s2.open(sink2);
        await("restored endpoint reported", () -> sink2.last("dev/probe") != null);
        assertEquals(Map.of("role", "probe"), sink2.last("dev/probe").labels());
        assertEquals("run1", sink2.last("dev/probe").externalIds().get("septum-lab"));
        s2.delete("dev/probe");
        await("removed", () -> sink2.removes.equals(List.of("dev/probe")));
        assertFalse(Files.readString(state.resolve(NetnsSource.STATE_FILE)).contains("probe"));
        assertThrows(IllegalArgumentException.class, () -> s2.delete("dev/probe"));
        await("resync without it", () -> sink2.live != null && !sink2.live.contains("dev/probe"));
    }

    @Test
    void fileDeclaredEndpointsCannotBeDeletedThroughTheApi() throws Exception {
        declare("a.yaml", "endpoints:\n  - name: xwing\n    netns: " + ns + "\n");
        var sink = new Sink();
        var s = source();
        s.open(sink);
        await("reported", () -> sink.last("default/xwing") != null);
        var err = assertThrows(IllegalArgumentException.class, () -> s.delete("default/xwing"));
        assertTrue(err.getMessage().contains("a.yaml"), err.getMessage());
    }
}
