package io.septum.cli.connectivity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.cli.connectivity.NetLab.Node;
import io.septum.cli.connectivity.NetLab.Port;
import io.septum.cli.connectivity.NetLab.Verdict;
import io.septum.testsupport.RequiresRoot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The lab with real namespaces, veths, a bridge and socat listeners; no agent involved. */
@RequiresRoot("network namespaces")
class NetLabTest {
    private static final Duration TIMEOUT = Duration.ofMillis(800);
    private final List<NetLab> labs = new ArrayList<>();

    @AfterEach
    void cleanup() {
        labs.forEach(NetLab::close);
    }

    private NetLab lab() {
        NetLab lab = NetLab.create('t');
        labs.add(lab);
        return lab;
    }

    @Test
    void probesSeeEchoesHttpRefusalsAndDrops() {
        NetLab lab = lab();
        Node a = lab.addEndpoint("a");
        Node b = lab.addEndpoint("b");
        Node ext = lab.addNode("ext", "10.198.77.10");
        assertEquals("10.199." + lab.subnet() + ".1", a.ip());
        assertTrue(a.hostInterface().length() <= 15, a.hostInterface());
        lab.listen(b, List.of(Port.parse("80"), Port.parse("53/UDP")));
        lab.listen(ext, List.of(Port.parse("443")));
        lab.awaitListening(Duration.ofSeconds(5));

        assertEquals(Verdict.ALLOWED, lab.probe(a, b.ip(), 80, "TCP", TIMEOUT).verdict());
        assertEquals(Verdict.ALLOWED, lab.probe(a, b.ip(), 53, "UDP", TIMEOUT).verdict());
        assertEquals(Verdict.ALLOWED, lab.probe(a, ext.ip(), 443, "TCP", TIMEOUT).verdict());
        assertEquals(Verdict.ALLOWED, lab.probe(ext, b.ip(), 80, "TCP", TIMEOUT).verdict());
        assertEquals(Verdict.REFUSED, lab.probe(a, b.ip(), 81, "TCP", TIMEOUT).verdict());
        NetLab.Observation ping = lab.probe(a, b.ip(), 8, "ICMP", TIMEOUT);
        assertEquals(Verdict.ALLOWED, ping.verdict(), ping.detail());
        NetLab.Observation stamp = lab.probe(a, b.ip(), 13, "ICMP", TIMEOUT);
        assertEquals(Verdict.ERROR, stamp.verdict(), "the lab sends echo requests only: " + stamp.detail());

        NetLab.HttpReply landing = lab.http(a, "POST", "http://" + b.ip() + "/v1/request-landing", TIMEOUT);
        assertEquals(0, landing.exit(), landing.error());
        assertEquals(200, landing.status());
        assertEquals("Ship landed", landing.body().strip());
        assertEquals(Verdict.ALLOWED, CaseRunner.judgeHttp(landing, "POST /v1/request-landing", TIMEOUT).verdict());
        NetLab.HttpReply exhaust = lab.http(a, "PUT", "http://" + b.ip() + "/v1/exhaust-port",
                List.of("X-Has-Force: true", "Host: deathstar"), TIMEOUT);
        assertEquals("Panic: deathstar exploded", exhaust.body().strip(), exhaust.toString());

        // a drop inside the destination namespace looks exactly like a policy drop: no answer at all
        Cmd.run(5000, "ip", "netns", "exec", b.netns(), "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "80", "-j", "DROP").check();
        Cmd.run(5000, "ip", "netns", "exec", b.netns(), "iptables", "-A", "INPUT", "-p", "udp", "--dport", "53", "-j", "DROP").check();
        NetLab.Observation tcp = lab.probe(a, b.ip(), 80, "TCP", TIMEOUT);
        assertEquals(Verdict.DENIED, tcp.verdict(), tcp.detail());
        assertTrue(tcp.millis() >= TIMEOUT.toMillis() - 50 && tcp.millis() < TIMEOUT.toMillis() + 1500, tcp.toString());
        assertEquals(Verdict.DENIED, lab.probe(a, b.ip(), 53, "UDP", TIMEOUT).verdict());
        Cmd.run(5000, "ip", "netns", "exec", b.netns(), "iptables", "-A", "INPUT", "-p", "icmp", "-j", "DROP").check();
        NetLab.Observation pingDropped = lab.probe(a, b.ip(), 8, "ICMP", TIMEOUT);
        assertEquals(Verdict.DENIED, pingDropped.verdict(), pingDropped.detail());
        NetLab.HttpReply dropped = lab.http(a, "POST", "http://" + b.ip() + "/v1/request-landing", TIMEOUT);
        assertEquals(28, dropped.exit(), dropped.toString());
        NetLab.Observation o = CaseRunner.judgeHttp(dropped, "POST /v1/request-landing", TIMEOUT);
        assertEquals(Verdict.DENIED, o.verdict());
        assertEquals("POST /v1/request-landing: no answer within 800 ms (dropped at L3/L4)", o.detail());
    }

    @Test
    void httpAnswersAreJudgedLikeThePolicy() {
        Duration t = Duration.ofSeconds(1);
        assertEquals(Verdict.DENIED, CaseRunner.judgeHttp(new NetLab.HttpReply(0, 403, "Access denied\n", "", 3), "PUT /x", t).verdict());
        assertEquals("PUT /x: HTTP 403 Access denied (L7)",
                CaseRunner.judgeHttp(new NetLab.HttpReply(0, 403, "Access denied", "", 3), "PUT /x", t).detail());
        // a 403 of the server itself is not the proxy's denial
        assertEquals(Verdict.ERROR, CaseRunner.judgeHttp(new NetLab.HttpReply(0, 403, "Forbidden", "", 3), "PUT /x", t).verdict());
        assertEquals(Verdict.ERROR, CaseRunner.judgeHttp(new NetLab.HttpReply(0, 500, "oops", "", 3), "PUT /x", t).verdict());
        assertEquals(Verdict.ERROR, CaseRunner.judgeHttp(new NetLab.HttpReply(52, 0, "", "Empty reply from server", 3),
                "PUT /x", t).verdict());
        assertEquals(Verdict.REFUSED, CaseRunner.judgeHttp(new NetLab.HttpReply(7, 0, "", "refused", 3), "PUT /x", t).verdict());
        assertEquals(Verdict.ALLOWED, CaseRunner.judgeHttp(new NetLab.HttpReply(0, 204, "", "", 3), "PUT /x", t).verdict());
    }

    @Test
    void closeRemovesEveryObjectAndProcess() {
        NetLab lab = lab();
        Node a = lab.addEndpoint("a");
        Node b = lab.addEndpoint("b");
        lab.listen(b, List.of(Port.parse("80"), Port.parse("53/UDP")));
        lab.awaitListening(Duration.ofSeconds(5));
        assertEquals(Verdict.ALLOWED, lab.probe(a, b.ip(), 80, "TCP", TIMEOUT).verdict());
        List<Long> pids = netnsPids(b.netns());
        assertFalse(pids.isEmpty(), "socat runs inside " + b.netns());

        lab.close();
        lab.close(); // idempotent

        assertFalse(Files.exists(Path.of("/run/netns", a.netns())));
        assertFalse(Files.exists(Path.of("/run/netns", b.netns())));
        assertFalse(Files.exists(Path.of("/sys/class/net", lab.bridge())));
        assertTrue(pollUntil(() -> !Files.exists(Path.of("/sys/class/net", a.hostInterface()))
                && !Files.exists(Path.of("/sys/class/net", b.hostInterface()))), "veths gone");
        for (long pid : pids) assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid);
        assertFalse(Files.exists(NetLab.stateBase().resolve(lab.runId())));
        assertFalse(Files.exists(NetLab.stateBase().resolve(lab.runId() + ".owner")));
    }

    @Test
    void aNodeThatFailsHalfwayIsStillRemovedByClose() {
        NetLab lab = lab();
        lab.addEndpoint("ok");
        // the kernel refuses the address only after the namespace and the veth exist
        org.junit.jupiter.api.Assertions.assertThrows(LabException.class, () -> lab.addNode("bad", "10.198.1.300"));
        Node bad = lab.node("bad").orElseThrow();
        assertTrue(Files.exists(Path.of("/run/netns", bad.netns())), "half-made namespace exists before close");
        lab.close();
        assertFalse(Files.exists(Path.of("/run/netns", bad.netns())));
        assertTrue(pollUntil(() -> !Files.exists(Path.of("/sys/class/net", bad.hostInterface()))), "half-made veth gone");
        assertFalse(Files.exists(Path.of("/sys/class/net", lab.bridge())));
    }

    @Test
    void cleanupStaleRemovesOnlyLabsOfDeadOwners() throws Exception {
        NetLab live = lab();
        Node keep = live.addEndpoint("keep");
        NetLab dead = lab();
        Node a = dead.addEndpoint("a");
        dead.listen(a, List.of(Port.parse("8080")));
        dead.awaitListening(Duration.ofSeconds(5));
        // a finished process stands for an owner killed with kill -9
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Files.writeString(NetLab.stateBase().resolve(dead.runId() + ".owner"), gone.pid() + " 1 " + dead.subnet() + "\n");

        List<String> removed = new ArrayList<>(NetLab.cleanupStale(dead.runId()));
        removed.addAll(NetLab.cleanupStale(live.runId()));

        assertTrue(removed.contains("netns " + a.netns()), removed.toString());
        assertTrue(removed.contains("link " + dead.bridge()), removed.toString());
        assertFalse(Files.exists(Path.of("/run/netns", a.netns())));
        assertFalse(Files.exists(Path.of("/sys/class/net", dead.bridge())));
        assertTrue(Files.exists(Path.of("/run/netns", keep.netns())), "a live lab is left alone");
        assertTrue(Files.exists(Path.of("/sys/class/net", live.bridge())));
    }

    @Test
    void runIdsAreParsedOnlyFromLabNames() {
        assertEquals("ta1b2", NetLab.runIdOf("sept-ta1b2-3", NetLab.NETNS_PREFIX));
        assertEquals("ta1b2", NetLab.runIdOf("svta1b212", NetLab.VETH_PREFIX));
        assertEquals("ta1b2", NetLab.runIdOf("sbrta1b2", NetLab.BRIDGE_PREFIX));
        assertNull(NetLab.runIdOf("sept-itest-1", NetLab.NETNS_PREFIX));
        assertNull(NetLab.runIdOf("sbrta1b2x", NetLab.BRIDGE_PREFIX));
        assertNull(NetLab.runIdOf("svc0", NetLab.VETH_PREFIX));
        assertEquals(new Port(53, "UDP"), Port.parse("53/udp"));
    }

    private static List<Long> netnsPids(String netns) {
        List<Long> out = new ArrayList<>();
        for (String s : Cmd.run(5000, "ip", "netns", "pids", netns).out().split("\\s+")) {
            if (!s.isBlank()) out.add(Long.parseLong(s.trim()));
        }
        return out;
    }

    private static boolean pollUntil(java.util.function.BooleanSupplier c) {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline) {
            if (c.getAsBoolean()) return true;
            try {
                Thread.onSpinWait();
                java.util.concurrent.locks.LockSupport.parkNanos(20_000_000);
            } catch (RuntimeException e) {
                return false;
            }
        }
        return c.getAsBoolean();
    }
}
