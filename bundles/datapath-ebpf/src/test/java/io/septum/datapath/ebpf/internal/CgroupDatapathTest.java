package io.septum.datapath.ebpf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import io.septum.api.IpcacheEntry;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.policy.Direction;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.Protocol;
import io.septum.support.cgroup.CgroupMount;
import io.septum.testsupport.EventLog;
import io.septum.testsupport.RequiresRoot;
import io.septum.testsupport.TestFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The cgroup_skb programs with real processes in a real cgroup v2 directory and real connections to and from
 * network namespaces: egress and ingress policy of a cgroup endpoint, the drop events, the pinned links surviving
 * the datapath's restart, and removal detaching them. Needs root and a cgroup v2 mount.
 */
@RequiresRoot("netns, cgroups, bpffs")
class CgroupDatapathTest {
    static final long ID_A = 2001, ID_B = 2002, ID_CG = 2010;
    static final long EP_CG = 21;
    static final int RULE = 4242;

    static NetLab lab;
    static NetLab.Ns a, b;
    static String hostIp;
    static Path pinDir;
    static Path cgroup;
    static EbpfDatapath dp;
    static int listenPort;
    static final List<Process> processes = new ArrayList<>();
    static final EventLog<DatapathEvent> events = new EventLog<>(DatapathEvent::timestampNanos);

    @BeforeAll
    static void setUp() throws Exception {
        Path mount = CgroupMount.find();
        if (mount == null && Boolean.getBoolean("septum.e2e.required")) {
            throw new IllegalStateException("no cgroup v2 mount, and septum.e2e.required=true");
        }
        assumeTrue(mount != null, "no cgroup v2 mount");
        lab = new NetLab();
        pinDir = Path.of("/sys/fs/bpf/sept-t" + lab.id + "cg");
        cgroup = mount.resolve("sept-t" + lab.id + "cg");
        listenPort = 20000 + ThreadLocalRandom.current().nextInt(20000);
        a = lab.add(1);
        b = lab.add(2);
        hostIp = lab.hostIp();
        lab.listen(a, 80);
        lab.listen(b, 80);
        Files.createDirectory(cgroup);
        // a listener that is a member of the cgroup from its first instruction on
        inCgroup("socat", "TCP4-LISTEN:" + listenPort + ",bind=" + hostIp + ",fork,reuseaddr", "EXEC:cat");
        dp = new EbpfDatapath(pinDir, EbpfDatapath.bundledObject(), events);
        dp.open();
        assertNull(dp.cgroupError());
        dp.syncIpcache(List.of(new IpcacheEntry(a.ip4() + "/32", ID_A, "test"),
                new IpcacheEntry(b.ip4() + "/32", ID_B, "test")));
        lab.awaitListening(a, 80);
        lab.awaitListening(b, 80);
        awaitHostListening();
    }

    /** Also after a failed {@code @BeforeAll} (JUnit runs it then too): it tears down whatever was made. */
    @AfterAll
    static void tearDown() {
        if (dp != null) dp.close();
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        if (cgroup != null && Files.isDirectory(cgroup)) {
            // rmdir succeeds once the killed members have left the cgroup
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < end) {
                try {
                    Files.delete(cgroup);
                    break;
                } catch (IOException e) {
                    killMembers();
                }
            }
        }
        if (lab != null) lab.close();
        TestFiles.deleteTree(pinDir);
    }

    private static void killMembers() {
        try {
            for (String pid : Files.readAllLines(cgroup.resolve("cgroup.procs"))) {
                if (!pid.isBlank()) ProcessHandle.of(Long.parseLong(pid.trim())).ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (IOException | RuntimeException ignored) {
            // gone already
        }
    }

    /** Starts a command as a member of the test cgroup. */
    static Process inCgroup(String... cmd) throws IOException {
        String script = "echo $$ > " + cgroup.resolve("cgroup.procs") + " && exec \"$@\"";
        List<String> full = new ArrayList<>(List.of("sh", "-c", script, "sh"));
        full.addAll(List.of(cmd));
        Process p = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        processes.add(p);
        return p;
    }

    /** Whether a TCP connection from a process in the cgroup to ip:port completes. */
    static boolean cgroupConnects(String ip, int port) throws Exception {
        Process p = inCgroup("nc", "-4", "-z", "-w", "1", ip, Integer.toString(port));
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return false;
        }
        return p.exitValue() == 0;
    }

    static void awaitHostListening() throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < end) {
            Process p = new ProcessBuilder("ss", "-Hltn", "sport = :" + listenPort).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            p.waitFor(5, TimeUnit.SECONDS);
            if (!out.isBlank()) return;
            TimeUnit.MILLISECONDS.sleep(20); // poll interval
        }
        throw new IllegalStateException("the cgroup's listener on " + hostIp + ":" + listenPort + " did not start");
    }

    static DatapathEndpoint cgEp(boolean ingress, boolean egress) {
        return new DatapathEndpoint(EP_CG, ID_CG, null, 0, List.of(), ingress, egress, false, cgroup.toString());
    }

    static DatapathEvent awaitEvent(String what, Predicate<DatapathEvent> p) throws InterruptedException {
        return events.await(what, p);
    }

    @Test
    void egressAndIngressPolicyOfACgroupWithRealConnectionsSurvivesRestartAndIsRemoved() throws Exception {
        assertTrue(cgroupConnects(a.ip4(), 80), "without the endpoint the cgroup reaches a");
        assertTrue(cgroupConnects(b.ip4(), 80), "without the endpoint the cgroup reaches b");

        // egress: only a:80/TCP; ingress: only a may reach the listening port
        List<PolicyEntry> policy = List.of(
                new PolicyEntry(Direction.EGRESS, ID_A, Protocol.TCP, 80, 0, PolicyAction.ALLOW, RULE),
                new PolicyEntry(Direction.INGRESS, ID_A, Protocol.TCP, listenPort, 0, PolicyAction.ALLOW, RULE + 1));
        dp.upsertEndpoint(cgEp(true, true), policy);
        assertTrue(dp.isCgroupAttached(EP_CG, cgroup.toString()), "links pinned");
        events.forget();

        assertTrue(cgroupConnects(a.ip4(), 80), "egress allowed to a:80");
        DatapathEvent v = awaitEvent("egress verdict to a", e -> e.endpointId() == EP_CG && e.type().equals("policy-verdict")
                && e.dstIp().equals(a.ip4()) && e.dstPort() == 80);
        assertEquals("EGRESS", v.direction());
        assertEquals(ID_CG, v.srcIdentity());
        assertEquals(ID_A, v.dstIdentity());
        assertEquals(RULE, v.ruleId());

        assertFalse(cgroupConnects(b.ip4(), 80), "egress to b denied");
        DatapathEvent d = awaitEvent("egress drop to b", e -> e.endpointId() == EP_CG && e.type().equals("drop")
                && e.dstIp().equals(b.ip4()));
        assertEquals("EGRESS", d.direction());
        assertEquals(133, d.dropReason());
        assertEquals(ID_B, d.dstIdentity());
        assertEquals("TCP", d.protocol());

        assertTrue(lab.connects(a, hostIp, listenPort), "a may reach the cgroup's port");
        assertFalse(lab.connects(b, hostIp, listenPort), "b may not");
        DatapathEvent in = awaitEvent("ingress drop from b", e -> e.endpointId() == EP_CG && e.type().equals("drop")
                && e.srcIp().equals(b.ip4()) && e.dstPort() == listenPort);
        assertEquals("INGRESS", in.direction());
        assertEquals(ID_B, in.srcIdentity());
        assertEquals(ID_CG, in.dstIdentity());
        assertTrue(dp.endpoints().stream().anyMatch(e -> e.endpointId() == EP_CG && e.ifindex() == 0
                && e.interfaceName().equals(cgroup.toString())), "bpf endpoint list shows the cgroup: " + dp.endpoints());

        // the agent goes away: the pinned links go on enforcing
        dp.close();
        assertFalse(cgroupConnects(b.ip4(), 80), "still enforced while no agent runs");
        assertTrue(cgroupConnects(a.ip4(), 80));
        dp = new EbpfDatapath(pinDir, EbpfDatapath.bundledObject(), events);
        dp.open();
        assertTrue(dp.restored().stream().anyMatch((BpfEndpoint e) -> e.endpointId() == EP_CG && e.identity() == ID_CG),
                "the new datapath finds the cgroup endpoint: " + dp.restored());
        dp.upsertEndpoint(cgEp(true, true), policy); // takes over the pinned links (bpf_link_update)
        assertFalse(cgroupConnects(b.ip4(), 80), "enforced after the restart");
        assertTrue(lab.connects(a, hostIp, listenPort));
        assertFalse(lab.connects(b, hostIp, listenPort));

        // removed: detached, unpinned, open again
        dp.removeEndpoint(EP_CG);
        assertFalse(dp.isCgroupAttached(EP_CG, cgroup.toString()));
        try (Stream<Path> pins = Files.list(pinDir.resolve(EbpfDatapath.LINK_DIR))) {
            assertEquals(0, pins.count(), "no link pin left");
        }
        assertTrue(cgroupConnects(b.ip4(), 80), "open again after removal");
        assertTrue(lab.connects(b, hostIp, listenPort));
    }

    @Test
    void auditModePolicyEntriesLetACgroupsWouldBeDropsPassAsAudit() throws Exception {
        // An audit-mode policy (policy.septum.io/mode: audit) on an endpoint that is itself enforcing: its deny
        // and the audit default it writes must be reported as AUDIT and let through, as on an interface endpoint.
        dp.upsertEndpoint(cgEp(false, true), List.of(
                new PolicyEntry(Direction.EGRESS, ID_B, Protocol.TCP, 80, 80, PolicyAction.DENY, RULE + 7, true),
                PolicyEntry.auditDefault(Direction.EGRESS)));
        try {
            events.forget();
            assertTrue(cgroupConnects(b.ip4(), 80), "an audit deny lets the connection through");
            DatapathEvent d = awaitEvent("audit of the deny", e -> e.endpointId() == EP_CG
                    && e.type().equals("policy-verdict") && e.dstIp().equals(b.ip4()) && e.dstPort() == 80);
            assertEquals("AUDIT", d.verdict());
            assertEquals(181, d.dropReason());
            assertEquals(RULE + 7, d.ruleId());
            assertTrue(cgroupConnects(a.ip4(), 80), "the audit default lets what no entry decides through");
            DatapathEvent n = awaitEvent("audit default", e -> e.endpointId() == EP_CG
                    && e.type().equals("policy-verdict") && e.dstIp().equals(a.ip4()) && e.dstPort() == 80);
            assertEquals("AUDIT", n.verdict());
            assertEquals(133, n.dropReason());
            assertTrue(events.current().stream().noneMatch(e -> e.endpointId() == EP_CG && e.type().equals("drop")),
                    "nothing dropped: " + events);
        } finally {
            dp.removeEndpoint(EP_CG);
        }
    }

    @Test
    void aDirectoryThatIsNoCgroupIsRefusedAndChangesNothing() throws Exception {
        DatapathEndpoint bad = new DatapathEndpoint(EP_CG + 1, ID_CG, null, 0, List.of(), true, true, false,
                "/tmp/sept-t-not-a-cgroup-" + lab.id);
        var ex = org.junit.jupiter.api.Assertions.assertThrows(io.septum.api.datapath.DatapathException.class,
                () -> dp.upsertEndpoint(bad, List.of()));
        assertTrue(ex.getMessage().contains("does not exist"), ex.getMessage());
        assertTrue(dp.endpoints().stream().noneMatch(e -> e.endpointId() == EP_CG + 1));
    }
}
