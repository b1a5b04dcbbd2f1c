package io.septum.source.netns.internal;

import io.septum.api.EndpointSpec;
import io.septum.testsupport.Await;
import io.septum.testsupport.RecordingSink;
import io.septum.testsupport.RequiresRoot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.*;

/** Against real network namespaces and veths made here and removed afterwards, even when a test fails. */
@RequiresRoot("network namespaces, veths")
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
    static void await(String what, BooleanSupplier c) throws InterruptedException {
        Await.until(what, Duration.ofSeconds(10), c);
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
        makeNamespace(ns, hostIf, subnet);
    }

    /** A namespace with a veth to the host, removed after the test whatever happens. */
    void makeNamespace(String name, String host, int net) throws IOException {
        made.add(new String[] {name, host});
        ip("netns", "add", name);
        ip("link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", name);
        ip("-n", name, "addr", "add", "10.199." + net + ".2/24", "dev", "eth0");
        ip("-n", name, "-6", "addr", "add", "fd00:199:" + Integer.toHexString(net) + "::2/64", "dev", "eth0", "nodad");
        ip("-n", name, "link", "set", "eth0", "up");
        ip("-n", name, "link", "set", "lo", "up");
        ip("link", "set", host, "up");
    }

    final List<String[]> made = new ArrayList<>();

    @AfterEach
    void cleanup() {
        sources.forEach(NetnsSource::close);
        for (String[] m : made) {
            try {
                ip("netns", "del", m[0]);
            } catch (IOException ignored) {
                // already gone
            }
            try {
                ip("link", "del", m[1]);
            } catch (IOException ignored) {
                // went with the namespace
            }
        }
    }

    NetnsSource source() {
        return source(new CommandRunner(Duration.ofSeconds(5)));
    }

    NetnsSource source(CommandRunner runner) {
        var s = new NetnsSource(new NetnsSource.Settings(etc, state, Duration.ofMillis(200), Duration.ofMillis(300),
                Duration.ofSeconds(5)), runner);
        sources.add(s);
        return s;
    }

    /** The real runner, except that while {@code failing} is set every command fails as a hung {@code ip} would. */
    static final class FlakyRunner extends CommandRunner {
        volatile boolean failing;

        FlakyRunner() {
            super(Duration.ofSeconds(5));
        }

        @Override
        String run(List<String> argv) throws IOException {
            if (failing) throw new IOException("`" + String.join(" ", argv) + "` did not finish within 5 s and was killed");
            return super.run(argv);
        }
    }

    /** Collects what the source logs, for asserting that it says what it dropped. */
    static final class Logged extends Handler implements AutoCloseable {
        final List<String> messages = new CopyOnWriteArrayList<>();
        final Logger logger = Logger.getLogger(NetnsSource.class.getName());

        Logged() {
            logger.addHandler(this);
        }

        @Override
        public void publish(LogRecord r) {
            messages.add(r.getMessage());
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            logger.removeHandler(this);
        }
    }

    String persisted() throws IOException {
        Path f = state.resolve(NetnsSource.STATE_FILE);
        return Files.exists(f) ? Files.readString(f) : "";
    }

    /** The persisted operator additions as {@code namespace/name@netns}. */
    List<String> persistedRecords() {
        try {
            List<String> out = new ArrayList<>();
            for (var n : new com.fasterxml.jackson.databind.ObjectMapper().readTree(persisted()).path("endpoints")) {
                out.add(n.path("namespace").asText() + "/" + n.path("name").asText() + "@" + n.path("netns").asText());
            }
            return out;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    EndpointSpec probe(String netns) {
        return new EndpointSpec("ignored", "probe", "dev", Map.of("role", "probe"), null, netns, List.of(), null,
                Map.of());
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
        var sink = RecordingSink.withoutNamespaces("netns");
        source().open(sink);
        String id = "empire/deathstar";
        await("endpoint reported", () -> sink.lastUpsert(id) != null);
        EndpointSpec spec = sink.lastUpsert(id);
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
        await("resync lists it", () -> sink.lastResync().contains(id));

        ip("-n", ns, "addr", "add", "10.199." + subnet + ".3/24", "dev", "eth0");
        await("new address reported", () -> sink.lastUpsert(id).addresses().contains("10.199." + subnet + ".3"));

        // A broken file is ignored and changes nothing else.
        int before = sink.upserts().size();
        declare("b.yaml", "endpoints:\n  - name: x\n    colour: red\n");
        await("bad file reported", () -> sink.lastHealth() != null && sink.lastHealth().error() != null
                && sink.lastHealth().error().contains("b.yaml") && sink.lastHealth().error().contains("colour"));
        // A typo in the good file keeps its endpoints too.
        declare("a.yaml", "endpoints:\n  - name: deathstar\n    netns: [oops\n");
        await("a.yaml error reported", () -> sink.lastHealth().error().contains("a.yaml"));
        long t = System.currentTimeMillis();
        await("another scan", () -> sink.lastHealth().lastSync() > t);
        assertTrue(sink.lastResync().contains(id), "a broken file must not remove its endpoints");
        assertTrue(sink.removes().isEmpty());
        assertEquals(before, sink.upserts().size(), "nothing changed, nothing reported");

        Files.delete(etc.resolve("a.yaml"));
        await("endpoint gone with its file", () -> !sink.lastResync().contains(id));
    }

    @Test
    void recreatedVethIsReportedWithItsNewIndex() throws Exception {
        declare("a.yaml", "endpoints:\n  - name: xwing\n    netns: " + ns + "\n");
        var sink = RecordingSink.withoutNamespaces("netns");
        source().open(sink);
        await("reported", () -> sink.lastUpsert("default/xwing") != null);
        String first = sink.lastUpsert("default/xwing").externalIds().get("hostIfindex");
        ip("link", "del", hostIf);
        ip("link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", ns);
        ip("-n", ns, "addr", "add", "10.199." + subnet + ".2/24", "dev", "eth0");
        ip("-n", ns, "link", "set", "eth0", "up");
        ip("link", "set", hostIf, "up");
        await("new index reported", () -> sink.lastUpsert("default/xwing") != null
                && !first.equals(sink.lastUpsert("default/xwing").externalIds().get("hostIfindex"))
                && sink.lastUpsert("default/xwing").addresses().contains("10.199." + subnet + ".2"));
        assertEquals(hostIf, sink.lastUpsert("default/xwing").interfaceName());
    }

    @Test
    void vanishedNamespaceRemovesTheEndpoint() throws Exception {
        declare("a.yaml", "endpoints:\n  - name: xwing\n    netns: " + ns + "\n    labels: {org: alliance}\n");
        var sink = RecordingSink.withoutNamespaces("netns");
        source().open(sink);
        await("reported", () -> sink.lastResync().contains("default/xwing"));
        assertNull(sink.lastUpsert("default/xwing").namespace(), "no namespace declared: the manager picks the default");
        ip("netns", "del", ns);
        await("removed", () -> !sink.lastResync().contains("default/xwing"));
        assertTrue(sink.lastHealth().error().contains("does not exist"), sink.lastHealth().error());
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
        var sink = RecordingSink.withoutNamespaces("netns");
        source().open(sink);
        await("both reported", () -> sink.lastUpsert("default/tiefighter") != null && sink.lastUpsert("default/tiefighter2") != null);
        assertEquals(hostIf, sink.lastUpsert("default/tiefighter").interfaceName());
        assertEquals(hostIf, sink.lastUpsert("default/tiefighter2").interfaceName());
        assertTrue(sink.lastUpsert("default/tiefighter").addresses().contains("10.199." + subnet + ".2"));
    }

    @Test
    void operatorAddAndDeleteArePersisted() throws Exception {
        var sink = RecordingSink.withoutNamespaces("netns");
        var s1 = source();
        s1.open(sink);
        s1.add(new EndpointSpec("ignored", "probe", "dev", Map.of("role", "probe"), null, ns, List.of(), null,
                Map.of("septum-lab", "run1")));
        await("added endpoint reported", () -> sink.lastUpsert("dev/probe") != null);
        assertEquals(hostIf, sink.lastUpsert("dev/probe").interfaceName());
        assertEquals(Map.of("netns", ns, "septum-lab", "run1", "hostIfindex",
                Files.readString(Path.of("/sys/class/net", hostIf, "ifindex")).trim()), sink.lastUpsert("dev/probe").externalIds(),
                "the operator's external ids are kept, so tools can find what they added");
        assertTrue(Files.readString(state.resolve(NetnsSource.STATE_FILE)).contains("probe"));
        var err = assertThrows(IllegalArgumentException.class, () -> s1.add(new EndpointSpec("x", "ghost", null,
                Map.of(), null, "sept-tnonexistent", List.of(), null, Map.of())));
        assertTrue(err.getMessage().contains("does not exist"), err.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s1.add(new EndpointSpec("x", "probe", "dev", Map.of(),
                null, ns, List.of(), null, Map.of())), "duplicate");
        s1.close();

        var sink2 = RecordingSink.withoutNamespaces("netns");
        var s2 = source();
        assertEquals(List.of("dev/probe"), s2.declared().stream().map(Declarations.Declared::sourceId).toList());
        s2.open(sink2);
        await("restored endpoint reported", () -> sink2.lastUpsert("dev/probe") != null);
        assertEquals(Map.of("role", "probe"), sink2.lastUpsert("dev/probe").labels());
        assertEquals("run1", sink2.lastUpsert("dev/probe").externalIds().get("septum-lab"));
        s2.delete("dev/probe");
        await("removed", () -> sink2.removes().equals(List.of("dev/probe")));
        assertFalse(Files.readString(state.resolve(NetnsSource.STATE_FILE)).contains("probe"));
        assertThrows(IllegalArgumentException.class, () -> s2.delete("dev/probe"));
        await("resync without it", () -> !sink2.resyncs().isEmpty() && !sink2.lastResync().contains("dev/probe"));
    }

    @Test
    void fileDeclaredEndpointsCannotBeDeletedThroughTheApi() throws Exception {
        declare("a.yaml", "endpoints:\n  - name: xwing\n    netns: " + ns + "\n");
        var sink = RecordingSink.withoutNamespaces("netns");
        var s = source();
        s.open(sink);
        await("reported", () -> sink.lastUpsert("default/xwing") != null);
        var err = assertThrows(IllegalArgumentException.class, () -> s.delete("default/xwing"));
        assertTrue(err.getMessage().contains("a.yaml"), err.getMessage());
    }

    @Test
    void operatorEndpointIsForgottenWithItsNamespaceAndItsNameCanBeAddedAgain() throws Exception {
        var sink = RecordingSink.withoutNamespaces("netns");
        var s = source();
        s.open(sink);
        s.add(probe(ns));
        await("added endpoint live", () -> sink.lastResync().contains("dev/probe"));
        assertEquals(List.of("dev/probe@" + ns), persistedRecords());

        try (var log = new Logged()) {
            ip("netns", "del", ns);
            await("removed from the agent", () -> !sink.lastResync().contains("dev/probe"));
            await("dropped from " + NetnsSource.STATE_FILE, () -> persistedRecords().isEmpty());
            assertEquals(List.of(), s.declared(), "the source forgot it");
            assertTrue(log.messages.stream().anyMatch(m -> m.contains("dev/probe") && m.contains(ns)
                    && m.contains("forgotten")), "logged, naming the endpoint and the namespace: " + log.messages);
        }
        var err = assertThrows(IllegalArgumentException.class, () -> s.delete("dev/probe"), "nothing left to delete");
        assertTrue(err.getMessage().contains("no endpoint dev/probe"), err.getMessage());
        long t = System.currentTimeMillis();
        await("a scan after forgetting", () -> sink.lastHealth().lastSync() > t);
        assertNull(sink.lastHealth().error(), "a forgotten endpoint is not an error");

        // The workload comes back under the same names: the endpoint can be created again.
        makeNamespace(ns, hostIf, subnet);
        s.add(probe(ns));
        await("re-added endpoint live", () -> sink.lastResync().contains("dev/probe"));
        assertEquals(hostIf, sink.lastUpsert("dev/probe").interfaceName());
        assertEquals(List.of("dev/probe@" + ns), persistedRecords());
        assertEquals(List.of("dev/probe"), source().declared().stream().map(Declarations.Declared::sourceId).toList(),
                "a restart restores it");
    }

    @Test
    void addingANameWhoseRecordLostItsNamespaceReplacesTheRecordBeforeAnyScan() throws Exception {
        // Not opened: no scan runs, so only add() can notice that the old record is stale.
        var s = source();
        s.add(probe(ns));
        String ns2 = ns + "b";
        String host2 = hostIf.substring(0, hostIf.length() - 1) + "i";
        makeNamespace(ns2, host2, (subnet + 1) % 250 + 1);
        var err = assertThrows(IllegalArgumentException.class, () -> s.add(probe(ns2)),
                "the namespace is still there: the name is taken");
        assertTrue(err.getMessage().contains("already exists"), err.getMessage());

        ip("netns", "del", ns);
        try (var log = new Logged()) {
            s.add(probe(ns2));
            assertTrue(log.messages.stream().anyMatch(m -> m.contains("dev/probe") && m.contains(ns)
                    && m.contains("replaced")), log.messages.toString());
        }
        assertEquals(List.of(ns2), s.declared().stream().map(Declarations.Declared::netns).toList());
        assertEquals(List.of("dev/probe@" + ns2), persistedRecords());
    }

    @Test
    void failingIpKeepsTheOperatorsEndpoint() throws Exception {
        var runner = new FlakyRunner();
        var sink = RecordingSink.withoutNamespaces("netns");
        var s = source(runner);
        s.open(sink);
        s.add(probe(ns));
        await("added endpoint live", () -> sink.lastResync().contains("dev/probe"));

        runner.failing = true;
        long t = System.currentTimeMillis();
        await("a scan with ip failing", () -> sink.lastHealth().lastSync() > t && sink.lastHealth().error() != null
                && sink.lastHealth().error().contains("did not finish"));
        long t2 = System.currentTimeMillis();
        await("another scan with ip failing", () -> sink.lastHealth().lastSync() > t2);
        assertTrue(sink.lastResync().contains("dev/probe"), "a failing ip is not a vanished namespace");
        assertTrue(sink.removes().isEmpty());
        assertEquals(List.of("dev/probe"), s.declared().stream().map(Declarations.Declared::sourceId).toList());
        assertEquals(List.of("dev/probe@" + ns), persistedRecords());
        assertThrows(IllegalArgumentException.class, () -> s.add(probe(ns)), "still exists, ip or not");

        runner.failing = false;
        long t3 = System.currentTimeMillis();
        await("healthy again", () -> sink.lastHealth().lastSync() > t3 && sink.lastHealth().error() == null);
        assertTrue(sink.lastResync().contains("dev/probe"));
    }
}
