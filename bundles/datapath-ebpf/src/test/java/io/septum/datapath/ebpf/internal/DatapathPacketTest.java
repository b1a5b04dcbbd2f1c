package io.septum.datapath.ebpf.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import io.septum.api.IpcacheEntry;
import io.septum.api.datapath.BpfEndpoint;
import io.septum.api.datapath.BpfPolicyEntry;
import io.septum.api.datapath.DatapathEndpoint;
import io.septum.api.datapath.DatapathEvent;
import io.septum.api.datapath.DatapathException;
import io.septum.api.datapath.RuleHits;
import io.septum.api.policy.Direction;
import io.septum.api.policy.PolicyAction;
import io.septum.api.policy.PolicyEntry;
import io.septum.api.policy.Protocol;
import io.septum.testsupport.EventLog;
import io.septum.testsupport.RequiresRoot;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real packets between network namespaces through the real tc programs: every verdict is checked by a TCP
 * connection (or ICMP echo) and by the event the datapath reports. Needs root.
 */
@RequiresRoot("netns, tc, bpffs")
class DatapathPacketTest {
    static final long ID_A = 1001, ID_B = 1002, ID_C = 1003;
    static final long EP_A = 11, EP_B = 12, EP_C = 13;

    static NetLab lab;
    static NetLab.Ns a, b, c;
    static EbpfDatapath dp;
    static final EventLog<DatapathEvent> events = new EventLog<>(DatapathEvent::timestampNanos);

    @BeforeAll
    static void setUp() throws Exception {
        lab = new NetLab();
        a = lab.add(1);
        b = lab.add(2);
        c = lab.add(3);
        for (int port : new int[] {80, 8050, 8100, 8101}) lab.listen(b, port);
        lab.listen(a, 80);
        dp = lab.openDatapath(events);
        dp.syncIpcache(ipcache(ID_A));
        for (int port : new int[] {80, 8050, 8100, 8101}) lab.awaitListening(b, port);
        lab.awaitListening(a, 80);
    }

    /** The three namespaces' addresses with their identities, A's being {@code identityOfA}. */
    static List<IpcacheEntry> ipcache(long identityOfA) {
        return List.of(
                new IpcacheEntry(a.ip4() + "/32", identityOfA, "test"), new IpcacheEntry(a.ip6() + "/128", identityOfA, "test"),
                new IpcacheEntry(b.ip4() + "/32", ID_B, "test"), new IpcacheEntry(b.ip6() + "/128", ID_B, "test"),
                new IpcacheEntry(c.ip4() + "/32", ID_C, "test"), new IpcacheEntry(c.ip6() + "/128", ID_C, "test"));
    }

    /** Also after a failed {@code @BeforeAll} (JUnit runs it then too): it tears down whatever was made. */
    @AfterAll
    static void tearDown() {
        if (dp != null) dp.close(); // a test may have replaced the lab's datapath with a restarted one
        if (lab != null) lab.close(); // the lab's datapath and the pins too
    }

    @BeforeEach
    void openAll() throws Exception {
        if (!dp.isLoaded()) { // a test that reopens the datapath failed half-way: the others still get one
            dp = new EbpfDatapath(lab.pinDir(), EbpfDatapath.bundledObject(), events);
            dp.open();
        }
        dp.upsertEndpoint(ep(a, EP_A, ID_A, false, false), List.of());
        dp.upsertEndpoint(ep(b, EP_B, ID_B, false, false), List.of());
        dp.upsertEndpoint(ep(c, EP_C, ID_C, false, false), List.of());
        events.forget();
    }


    static DatapathEndpoint ep(NetLab.Ns ns, long id, long identity, boolean ingress, boolean egress) {
        return new DatapathEndpoint(id, identity, ns.hostIf(), ns.ifindex(), List.of(ns.ip4(), ns.ip6()), ingress, egress, false);
    }

    static PolicyEntry allow(Direction d, long identity, Protocol p, int port, int endPort, int rule) {
        return new PolicyEntry(d, identity, p, port, endPort, PolicyAction.ALLOW, rule);
    }

    static PolicyEntry deny(Direction d, long identity, Protocol p, int port, int endPort, int rule) {
        return new PolicyEntry(d, identity, p, port, endPort, PolicyAction.DENY, rule);
    }

    /** The epochs of the endpoint's conntrack entries of direction {@code dir} (1 ingress, 2 egress). */
    static List<Long> ctEpochs(long endpointId, int dir) {
        jnr.ffi.Runtime r = jnr.ffi.Runtime.getSystemRuntime();
        List<Long> out = new ArrayList<>();
        for (var e : dp.maps().ct.readAll().entrySet()) {
            Structs.CtKey k = Structs.from(new Structs.CtKey(r), e.getKey().b());
            if (k.ep_id.get() == endpointId && k.dir.get() == dir) {
                out.add(Structs.from(new Structs.CtValue(r), e.getValue()).epoch.get());
            }
        }
        return out;
    }

    /** Packets counted under the rule at the endpoint (all directions). */
    static long hits(long endpointId, int rule) {
        return dp.ruleHits().stream().filter(h -> h.endpointId() == endpointId && h.ruleId() == rule)
                .mapToLong(RuleHits::packets).sum();
    }

    static DatapathEvent awaitEvent(String what, Predicate<DatapathEvent> p) throws InterruptedException {
        return events.await(what, p);
    }

    /** The event of {@code type} at B's endpoint for a connection from {@code from}'s IPv4 address to {@code port}. */
    static DatapathEvent awaitAtB(String what, String type, NetLab.Ns from, int port) throws InterruptedException {
        return awaitEvent(what, ev -> ev.endpointId() == EP_B && ev.type().equals(type)
                && ev.srcIp().equals(from.ip4()) && ev.dstPort() == port);
    }

    @Test
    void withoutPolicyTrafficFlowsAndProgramsAreAttached() throws Exception {
        assertTrue(dp.isAttached(b.ifindex(), true) && dp.isAttached(b.ifindex(), false));
        assertTrue(lab.connects(a, b.ip4(), 80));
        DatapathEvent e = awaitAtB("policy-verdict for B", "policy-verdict", a, 80);
        assertEquals("INGRESS", e.direction());
        assertEquals("FORWARDED", e.verdict());
        assertEquals(a.ip4(), e.srcIp());
        assertEquals(ID_A, e.srcIdentity());
        assertEquals(ID_B, e.dstIdentity());
        assertEquals(80, e.dstPort());
        assertEquals("TCP", e.protocol());
        assertTrue((e.tcpFlags() & 2) != 0, "first packet is a SYN");
        long now = System.currentTimeMillis() * 1_000_000L;
        assertTrue(Math.abs(now - e.timestampNanos()) < 10_000_000_000L, "wall-clock timestamp");
    }

    /**
     * A steady stream of events (8,000 a second for 1.5 s, each a drop) arrives whole and is read in batches, not
     * one wake-up per event; once it has stopped, a single event still arrives (the reader waits in epoll again).
     */
    @Test
    void aStreamOfEventsIsReadWholeInBatchesAndATrickleAfterIt() throws Exception {
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of()); // enforced, nothing allowed: each one a drop
        events.forget();
        long batchesBefore = dp.eventBatches();
        int n = 12_000;
        String script = """
                import socket, sys, time
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                n, dst = int(sys.argv[1]), sys.argv[2]
                gap, t = 1.0 / 8000, time.perf_counter()
                for i in range(n):
                    s.sendto(b'septum', (dst, 7777))
                    t += gap
                    while time.perf_counter() < t:  # evenly spaced: a burst would be read in one go anyway
                        pass
                """;
        String python = java.nio.file.Files.isExecutable(java.nio.file.Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
        NetLab.run("ip", "netns", "exec", a.name(), python, "-c", script, Integer.toString(n), b.ip4());
        Predicate<DatapathEvent> ours = ev -> ev.endpointId() == EP_B && ev.type().equals("drop") && ev.dstPort() == 7777;
        long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        long got = 0;
        while (System.nanoTime() < end && (got = events.current().stream().filter(ours).count()) < n) {
            Thread.sleep(20); // poll interval, not a wait for a condition
        }
        assertEquals(n, got, "every datagram's drop event arrives");
        long batches = dp.eventBatches() - batchesBefore;
        System.out.println("datapath: " + n + " events at 8,000/s read in " + batches + " batches");
        assertTrue(batches > 0 && batches < n / 3, "read in batches: " + batches + " for " + n + " events");

        long quiet = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
        while (dp.eventsStreaming() && System.nanoTime() < quiet) {
            Thread.sleep(10); // poll interval: the busy window ends within two windows of 100 ms
        }
        assertFalse(dp.eventsStreaming(), "the reader waits to be woken again");
        events.forget();
        lab.connects(a, b.ip4(), 80);
        awaitAtB("a single drop after the stream", "drop", a, 80);
    }

    @Test
    void ingressEnforcedWithoutAllowDropsWithReason133() throws Exception {
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of());
        assertFalse(lab.connects(a, b.ip4(), 80));
        DatapathEvent e = awaitAtB("drop 133 at B", "drop", a, 80);
        assertEquals(133, e.dropReason());
        assertEquals("DROPPED", e.verdict());
        assertEquals("INGRESS", e.direction());
        assertEquals(ID_A, e.srcIdentity());
        assertEquals(0, e.ruleId());
    }

    @Test
    void anAllowForTheClientIdentityAndPortLetsItThroughOnly() throws Exception {
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of(allow(Direction.INGRESS, ID_A, Protocol.TCP, 80, 80, 42)));
        assertTrue(lab.connects(a, b.ip4(), 80));
        DatapathEvent e = awaitAtB("verdict with rule 42", "policy-verdict", a, 80);
        assertEquals(42, e.ruleId());
        assertFalse(lab.connects(c, b.ip4(), 80), "another identity stays out");
        List<BpfPolicyEntry> entries = dp.policy(EP_B);
        assertEquals(1, entries.size());
        BpfPolicyEntry pe = entries.get(0);
        assertEquals("INGRESS/1001/TCP/80/ALLOW/42", pe.direction() + "/" + pe.identity() + "/" + pe.protocol() + "/"
                + pe.ports() + "/" + pe.action() + "/" + pe.ruleId());
        assertTrue(pe.packets() > 0, "packets counted for the rule");
    }

    @Test
    void aDenyBeatsAnAllow() throws Exception {
        // deny with the wildcard identity against an allow of the client's identity
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of(
                allow(Direction.INGRESS, ID_A, Protocol.ANY, 0, 0, 1),
                deny(Direction.INGRESS, 0, Protocol.TCP, 80, 80, 2)));
        assertFalse(lab.connects(a, b.ip4(), 80));
        DatapathEvent e = awaitAtB("drop 181", "drop", a, 80);
        assertEquals(181, e.dropReason());
        assertEquals(2, e.ruleId());
        assertTrue(lab.connects(a, b.ip4(), 8050), "the allow still covers other ports");
        // a broader deny of the same identity against a narrower allow (LPM alone would pick the allow)
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of(
                allow(Direction.INGRESS, ID_A, Protocol.TCP, 80, 80, 3),
                deny(Direction.INGRESS, ID_A, Protocol.TCP, 0, 0, 4)));
        assertFalse(lab.connects(a, b.ip4(), 80));
    }

    @Test
    void egressEnforcementOnTheClient() throws Exception {
        dp.upsertEndpoint(ep(a, EP_A, ID_A, false, true), List.of());
        assertFalse(lab.connects(a, b.ip4(), 80));
        DatapathEvent e = awaitEvent("egress drop at A", ev -> ev.endpointId() == EP_A && ev.type().equals("drop")
                && ev.dstIp().equals(b.ip4()) && ev.dstPort() == 80);
        assertEquals("EGRESS", e.direction());
        assertEquals(ID_B, e.dstIdentity());
        dp.upsertEndpoint(ep(a, EP_A, ID_A, false, true), List.of(allow(Direction.EGRESS, ID_B, Protocol.TCP, 80, 80, 5)));
        assertTrue(lab.connects(a, b.ip4(), 80));
    }

    @Test
    void aPortRangeIsEnforcedThroughPrefixes() throws Exception {
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of(allow(Direction.INGRESS, ID_A, Protocol.TCP, 8000, 8100, 6)));
        assertTrue(lab.connects(a, b.ip4(), 8050));
        assertTrue(lab.connects(a, b.ip4(), 8100));
        assertFalse(lab.connects(a, b.ip4(), 8101));
        assertTrue(dp.policy(EP_B).stream().anyMatch(p -> p.ports().equals("8000-8063")));
    }

    @Test
    void repliesOfAllowedConnectionsPassButNothingElseComesIn() throws Exception {
        dp.upsertEndpoint(ep(a, EP_A, ID_A, true, true), List.of(allow(Direction.EGRESS, ID_B, Protocol.TCP, 80, 80, 7)));
        assertTrue(lab.connects(a, b.ip4(), 80), "replies pass through A's enforced ingress");
        assertFalse(lab.connects(b, a.ip4(), 80), "B cannot open a connection to A");
    }

    @Test
    void ipv6IsEnforcedLikeIpv4() throws Exception {
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of(allow(Direction.INGRESS, ID_A, Protocol.TCP, 80, 80, 8)));
        assertTrue(lab.connects(a, b.ip6(), 80));
        assertFalse(lab.connects(c, b.ip6(), 80));
        DatapathEvent e = awaitEvent("v6 drop", ev -> ev.endpointId() == EP_B && ev.type().equals("drop") && ev.srcIp().equals(c.ip6()));
        assertEquals(ID_C, e.srcIdentity());
        assertEquals(133, e.dropReason());
    }

    @Test
    void icmpEchoReplyOnlyAnswersARequest() throws Exception {
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, true), List.of(allow(Direction.INGRESS, ID_A, Protocol.TCP, 80, 80, 9)));
        assertTrue(lab.icmp(a, "reply", b.ip4()));
        DatapathEvent e = awaitEvent("unsolicited echo reply dropped",
                ev -> ev.endpointId() == EP_B && ev.type().equals("drop") && ev.protocol().equals("ICMP")
                        && ev.srcIp().equals(a.ip4()));
        assertEquals(133, e.dropReason());
        assertFalse(lab.icmp(a, "echo", b.ip4()), "echo not allowed yet");
        // icmps: the policy key's port is the ICMP type, exact (0, echo reply, is one type, not every type)
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, true), List.of(allow(Direction.INGRESS, ID_A, Protocol.ICMP, 13, 13, 12),
                allow(Direction.INGRESS, ID_A, Protocol.ICMP, 0, 0, 12), allow(Direction.INGRESS, ID_A, Protocol.ICMPV6, 129, 129, 12)));
        events.forget();
        assertFalse(lab.icmp(a, "echo", b.ip4()), "only timestamp and echo reply are allowed, not echo request");
        DatapathEvent typed = awaitEvent("echo request dropped by type", ev -> ev.endpointId() == EP_B
                && ev.type().equals("drop") && ev.protocol().equals("ICMP") && ev.srcIp().equals(a.ip4()));
        assertEquals(8, typed.dstPort(), "events carry the ICMP type where a port would be");
        assertFalse(lab.icmp(a, "echo", b.ip6()), "ICMPv6 echo request (128) is not 129");
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, true), List.of(allow(Direction.INGRESS, ID_A, Protocol.ICMP, 8, 8, 10),
                allow(Direction.INGRESS, ID_A, Protocol.ICMPV6, 128, 128, 10)));
        assertTrue(lab.icmp(a, "echo", b.ip4()), "echo allowed, and its reply leaves B's enforced egress via conntrack");
        assertTrue(lab.icmp(a, "echo", b.ip6()), "the same over ICMPv6");
        events.forget();
        assertTrue(lab.icmp(b, "reply", a.ip4()));
        awaitEvent("B's unsolicited echo reply dropped at its enforced egress",
                ev -> ev.endpointId() == EP_B && ev.type().equals("drop") && ev.direction().equals("EGRESS")
                        && ev.protocol().equals("ICMP") && ev.dstIp().equals(a.ip4()));
    }

    @Test
    void anEstablishedConnectionSurvivesARestartAndDiesWithItsAllow() throws Exception {
        List<PolicyEntry> allowA = List.of(allow(Direction.INGRESS, ID_A, Protocol.TCP, 80, 80, 11));
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), allowA);
        NetLab.Conn conn = lab.open(a, b.ip4(), 80);
        try {
            assertTrue(conn.echoes("before", 10_000)); // the first answer waits for socat to start and connect
            dp.close(); // the agent goes away: programs stay attached, maps stay pinned
            assertTrue(conn.echoes("while-down", 2000));
            assertThrows(DatapathException.class, () -> dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), allowA));
            EbpfDatapath next = new EbpfDatapath(lab.pinDir(), EbpfDatapath.bundledObject(), events);
            next.open();
            dp = next;
            if (dp.cgroupError() == null) { // programs are pinned only as a whole set, cgroup programs included
                assertTrue(dp.reusedPrograms(), "the same objects on the same pinned maps: the pinned programs are taken");
            }
            List<BpfEndpoint> restored = dp.restored();
            assertTrue(restored.stream().anyMatch(r -> r.endpointId() == EP_B && r.ifindex() == b.ifindex()
                    && r.flags() == BpfEndpoint.FLAG_INGRESS_ENFORCED), restored.toString());
            dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), allowA); // re-attach with REPLACE
            assertTrue(conn.echoes("after-restart", 2000));
            assertTrue(dp.isAttached(b.ifindex(), false));
            dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of());
            assertFalse(conn.echoes("revoked", 1000), "removing the allow cuts the established flow");
        } finally {
            conn.close();
        }
    }

    @Test
    void anEstablishedConnectionPassesOnItsEntryIsCountedAndIsJudgedAgainAfterAnIpcacheChange() throws Exception {
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of(allow(Direction.INGRESS, ID_A, Protocol.TCP, 80, 80, 14)));
        NetLab.Conn conn = lab.open(a, b.ip4(), 80);
        try {
            assertTrue(conn.echoes("first", 10_000));
            long fast = dp.fastPathPackets(), hits = hits(EP_B, 14);
            for (int i = 0; i < 5; i++) assertTrue(conn.echoes("again-" + i, 2000));
            assertTrue(dp.fastPathPackets() >= fast + 5, "established packets pass on their entry: " + fast + " -> "
                    + dp.fastPathPackets());
            assertTrue(hits(EP_B, 14) >= hits + 5, "and are still counted under their rule");
            // B's own entry for the connection stands for the current epoch: its packets take the fast path too
            long epoch = Bytes.u32(dp.maps().epoch.lookup(Bytes.u32(0)));
            assertTrue(epoch != 0 && ctEpochs(EP_B, 1).contains(epoch), "B's ingress entries " + ctEpochs(EP_B, 1)
                    + ", epoch " + epoch);
            // A's address now belongs to C's identity, which B does not allow: the open connection is cut
            dp.syncIpcache(ipcache(ID_C));
            assertFalse(conn.echoes("after-move", 1000), "an ipcache change re-judges established connections");
        } finally {
            conn.close();
            dp.syncIpcache(ipcache(ID_A));
        }
    }

    @Test
    void aConntrackPinOfAnEarlierLayoutIsReplacedAtOpen() throws Exception {
        dp.close();
        java.nio.file.Path ct = lab.pinDir().resolve(BpfMaps.CT);
        java.nio.file.Files.delete(ct);
        int keySize = new Structs.CtKey(jnr.ffi.Runtime.getSystemRuntime()).size();
        NetLab.run("bpftool", "map", "create", ct.toString(), "type", "lru_hash", "key", String.valueOf(keySize),
                "value", "16", "entries", "64", "name", BpfMaps.CT);
        EbpfDatapath next = new EbpfDatapath(lab.pinDir(), EbpfDatapath.bundledObject(), events);
        next.open();
        dp = next;
        assertFalse(dp.reusedPrograms(), "programs pinned on the old table must not be taken");
        String info = NetLab.run("bpftool", "map", "show", "pinned", ct.toString());
        assertTrue(info.contains("value 24B"), info);
        String ctId = info.substring(0, info.indexOf(':')).trim();
        assertTrue(mapIdsOfPinned(EbpfDatapath.PROG_TO_EP).contains(ctId), "the newly pinned program uses the new table " + ctId);
        openAll();
        assertTrue(lab.connects(a, b.ip4(), 80));

        // the same sizes but another capacity: libbpf would refuse to reuse it, so it is replaced too
        dp.close();
        java.nio.file.Files.delete(ct);
        NetLab.run("bpftool", "map", "create", ct.toString(), "type", "lru_hash", "key", String.valueOf(keySize),
                "value", String.valueOf(new Structs.CtValue(jnr.ffi.Runtime.getSystemRuntime()).size()), "entries", "64",
                "name", BpfMaps.CT);
        EbpfDatapath third = new EbpfDatapath(lab.pinDir(), EbpfDatapath.bundledObject(), events);
        third.open();
        dp = third;
        info = NetLab.run("bpftool", "map", "show", "pinned", ct.toString());
        assertTrue(info.contains("max_entries 131072"), info);
        openAll();
        assertTrue(lab.connects(a, b.ip4(), 80));
    }

    @Test
    void aPinnedProgramOnAReplacedMapIsNotTakenAtOpen() throws Exception {
        dp.close();
        java.nio.file.Path policy = lab.pinDir().resolve(BpfMaps.POLICY);
        java.nio.file.Files.delete(policy);
        jnr.ffi.Runtime r = jnr.ffi.Runtime.getSystemRuntime();
        // the same type, sizes and flags, so that libbpf takes it: only the map ids tell it from the one programs use
        NetLab.run("bpftool", "map", "create", policy.toString(), "type", "lpm_trie",
                "key", String.valueOf(new Structs.PolicyKey(r).size()), "value", String.valueOf(new Structs.PolicyValue(r).size()),
                "entries", "262144", "name", BpfMaps.POLICY, "flags", "1");
        EbpfDatapath next = new EbpfDatapath(lab.pinDir(), EbpfDatapath.bundledObject(), events);
        next.open();
        dp = next;
        assertFalse(dp.reusedPrograms(), "a program that uses another policy map than the pinned one is not taken");
        String id = NetLab.run("bpftool", "map", "show", "pinned", policy.toString()).split(":")[0].trim();
        assertTrue(mapIdsOfPinned(EbpfDatapath.PROG_TO_EP).contains(id), "the new programs use the pinned map " + id);
        openAll();
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of());
        assertFalse(lab.connects(a, b.ip4(), 80), "B's enforcement is written to the map its programs read");
    }

    /** The map ids of the program pinned (by the last open) under that name: programs are pinned as a whole set. */
    static List<String> mapIdsOfPinned(String program) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dp.cgroupError() == null,
                "no cgroup object here, so no program is pinned: " + dp.cgroupError());
        java.nio.file.Path progs;
        try (var dirs = java.nio.file.Files.list(lab.pinDir())) {
            progs = dirs.filter(d -> d.getFileName().toString().startsWith(PinnedPrograms.PREFIX)).findFirst().orElseThrow();
        }
        String prog = NetLab.run("bpftool", "prog", "show", "pinned", progs.resolve(program).toString());
        return java.util.Arrays.asList(prog.replaceAll("(?s).*map_ids ([0-9,]+).*", "$1").split(","));
    }

    @Test
    void removeEndpointDetachesOurFiltersAndForgetsIt() throws Exception {
        dp.upsertEndpoint(ep(c, EP_C, ID_C, true, true), List.of(allow(Direction.EGRESS, 0, Protocol.ANY, 0, 0, 12)));
        dp.removeEndpoint(EP_C);
        assertFalse(dp.isAttached(c.ifindex(), true));
        assertFalse(dp.isAttached(c.ifindex(), false));
        assertTrue(dp.endpoints().stream().noneMatch(e -> e.endpointId() == EP_C));
        assertTrue(dp.policy(EP_C).isEmpty());
        assertTrue(lab.connects(c, b.ip4(), 80));
    }

    @Test
    void ipcacheViewRoundTrips() throws Exception {
        dp.syncIpcache(dp.ipcache().stream().map(e -> new IpcacheEntry(e.prefix(), e.identity(), "test")).toList());
        List<IpcacheEntry> view = dp.ipcache();
        assertTrue(view.contains(new IpcacheEntry(a.ip4() + "/32", ID_A, "test")), view.toString());
        assertTrue(view.contains(new IpcacheEntry(b.ip6() + "/128", ID_B, "test")), view.toString());
    }

    @Test
    void aFullMapKeepsTheLastGoodStateAndSaysWhy() throws Exception {
        List<IpcacheEntry> before = dp.ipcache();
        List<IpcacheEntry> tooMany = new ArrayList<>(before);
        for (int i = 0; i < 70_000; i++) { // the ipcache holds 65536
            String prefix = i < 65536 ? "10.198." + (i >> 8) + "." + (i & 0xff) + "/32"
                    : "fd00:198::" + Integer.toHexString(i - 65536) + "/128";
            tooMany.add(new IpcacheEntry(prefix, 5000 + i, "flood"));
        }
        DatapathException e = assertThrows(DatapathException.class, () -> dp.syncIpcache(tooMany));
        assertTrue(e.getMessage().contains("map full") || e.getMessage().contains("ENOSPC") || e.getMessage().contains("E2BIG"),
                e.getMessage());
        assertEquals(before.stream().map(IpcacheEntry::prefix).toList(), dp.ipcache().stream().map(IpcacheEntry::prefix).toList());
        assertTrue(lab.connects(a, b.ip4(), 80), "the datapath still works");
    }

    @Test
    void tenThousandEntriesAreWrittenAndDiffedQuickly() throws Exception {
        List<PolicyEntry> entries = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) entries.add(allow(Direction.INGRESS, 100_000 + i, Protocol.TCP, 80, 80, i + 1));
        long t0 = System.nanoTime();
        dp.upsertEndpoint(ep(c, EP_C, ID_C, true, false), entries);
        long full = System.nanoTime() - t0;
        entries.set(0, allow(Direction.INGRESS, 99_999, Protocol.TCP, 80, 80, 1));
        t0 = System.nanoTime();
        dp.upsertEndpoint(ep(c, EP_C, ID_C, true, false), entries);
        long diff = System.nanoTime() - t0;
        assertEquals(10_000, dp.policy(EP_C).size());
        System.out.printf("10,000 policy entries: first push %d ms, one-entry change %d ms%n", full / 1_000_000, diff / 1_000_000);
        assertTrue(full < 10_000_000_000L && diff < 2_000_000_000L, "too slow: " + full / 1_000_000 + " / " + diff / 1_000_000 + " ms");
    }

    @Test
    void auditLetsWouldBeDropsPassAndReportsThem() throws Exception {
        dp.upsertEndpoint(new DatapathEndpoint(EP_B, ID_B, b.hostIf(), b.ifindex(), List.of(b.ip4()), true, false, true),
                List.of());
        assertTrue(lab.connects(a, b.ip4(), 80));
        DatapathEvent e = awaitAtB("audit verdict", "policy-verdict", a, 80);
        assertEquals("AUDIT", e.verdict());
        assertEquals(133, e.dropReason());
        assertTrue(dp.endpoints().stream().anyMatch(x -> x.endpointId() == EP_B
                && x.flags() == (BpfEndpoint.FLAG_INGRESS_ENFORCED | BpfEndpoint.FLAG_AUDIT)
                && x.interfaceName().equals(b.hostIf())));
    }

    @Test
    void auditModePolicyEntriesPassWouldBeDropsAsAuditAndEnforcedEntriesStillDecide() throws Exception {
        // An audit deny of A on port 80, and the audit default of a direction only audit-mode policies select.
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of(
                new PolicyEntry(Direction.INGRESS, ID_A, Protocol.TCP, 80, 80, PolicyAction.DENY, 7, true),
                allow(Direction.INGRESS, ID_C, Protocol.TCP, 80, 80, 8),
                PolicyEntry.auditDefault(Direction.INGRESS)));
        assertTrue(lab.connects(a, b.ip4(), 80), "an audit deny lets the connection through");
        DatapathEvent e = awaitAtB("audit of rule 7", "policy-verdict", a, 80);
        assertEquals("AUDIT", e.verdict());
        assertEquals(181, e.dropReason());
        assertEquals(7, e.ruleId());
        assertTrue(lab.connects(a, b.ip4(), 8050), "the audit default lets what no entry decides through");
        DatapathEvent d = awaitAtB("audit default", "policy-verdict", a, 8050);
        assertEquals("AUDIT", d.verdict());
        assertEquals(133, d.dropReason());
        assertTrue(lab.connects(c, b.ip4(), 80));
        DatapathEvent f = awaitAtB("allowed by rule 8", "policy-verdict", c, 80);
        assertEquals("FORWARDED", f.verdict(), "a real allow beats the audit default");
        assertTrue(dp.policy(EP_B).stream().anyMatch(x -> x.action().equals("DENY (audit)") && x.ruleId() == 7));
        assertTrue(dp.ruleHits().stream().anyMatch(h -> h.endpointId() == EP_B && h.ruleId() == 7
                && h.direction().equals("INGRESS") && h.packets() > 0), "rule hits: " + dp.ruleHits());

        // An enforced deny of the wildcard identity beats the audit deny of A's identity: dropped for real.
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of(
                new PolicyEntry(Direction.INGRESS, ID_A, Protocol.TCP, 80, 80, PolicyAction.DENY, 7, true),
                deny(Direction.INGRESS, 0, Protocol.TCP, 80, 80, 9)));
        events.forget();
        assertFalse(lab.connects(a, b.ip4(), 80));
        DatapathEvent g = awaitAtB("drop by rule 9", "drop", a, 80);
        assertEquals(9, g.ruleId());
        // Without the audit default an enforced direction drops what no entry allows.
        dp.upsertEndpoint(ep(b, EP_B, ID_B, true, false), List.of(allow(Direction.INGRESS, ID_C, Protocol.TCP, 80, 80, 8)));
        assertFalse(lab.connects(a, b.ip4(), 8050));
    }
}
