package io.septum.source.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.septum.api.EndpointSpec;
import io.septum.api.SourceHealth;
import io.septum.testsupport.Await;
import io.septum.testsupport.RecordingSink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import io.septum.api.NamedPort;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LibvirtSourceTest {
    /** The uuid of domain WEB, the id of its endpoint. */
    private static final String WEB_UUID = "4dea22b3-1d52-d8f3-2516-782e98ab3fa0";
    private static final String WEB = """
            <domain type='test'>
              <name>sept-t-web</name>
              <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
              <memory>65536</memory>
              <metadata>
                <septum:endpoint xmlns:septum="https://septum.io/libvirt/1">
                  <septum:label key="app">web</septum:label>
                  <septum:label key="tier">front</septum:label>
                  <septum:address>10.199.77.9</septum:address>
                  <septum:port name="http">8080</septum:port>
                  <septum:port name="dns" protocol="udp">53</septum:port>
                </septum:endpoint>
                <other:thing xmlns:other="https://example.com/x"><label key="app">not-ours</label></other:thing>
              </metadata>
              <os><type>hvm</type></os>
              <devices>
                <interface type='ethernet'><mac address='52:54:00:AA:BB:01'/><target dev='sttap1'/></interface>
              </devices>
            </domain>
            """;

    private static LibvirtSource.Settings settings(String uri, Path leases) {
        return new LibvirtSource.Settings(uri, "default", Duration.ofMillis(200), Duration.ofSeconds(1), leases);
    }

    @Test
    void parsesInterfacesMetadataAndIdentifiers() throws IOException {
        DomainXml d = DomainXml.parse(WEB);
        assertEquals("sept-t-web", d.name());
        assertEquals(WEB_UUID, d.uuid());
        assertEquals(Map.of("app", "web", "tier", "front"), d.labels(), "only the septum namespace counts");
        assertEquals(List.of("10.199.77.9"), d.addresses());
        assertEquals(List.of(new NamedPort("http", 8080, "TCP"), new NamedPort("dns", 53, "UDP")), d.ports());
        assertEquals(List.of(new DomainXml.Nic("sttap1", "52:54:00:aa:bb:01", List.of())), d.interfaces());
    }

    @Test
    void badXmlIsAPreciseError() {
        IOException e = assertThrows(IOException.class, () -> DomainXml.parse("<domain><name>x</name><metadata>"
                + "<s:e xmlns:s='https://septum.io/libvirt/1'><s:label>v</s:label></s:e></metadata></domain>"));
        assertTrue(e.getMessage().contains("domain x: metadata <label> without a key"), e.getMessage());
        assertThrows(IOException.class, () -> DomainXml.parse("<network/>"));
        e = assertThrows(IOException.class, () -> DomainXml.parse("<domain><name>x</name><metadata>"
                + "<s:e xmlns:s='https://septum.io/libvirt/1'><s:port name='Web'>80</s:port></s:e></metadata></domain>"));
        assertTrue(e.getMessage().contains("domain x: metadata <port name=\"Web\">: invalid port name"), e.getMessage());
        e = assertThrows(IOException.class, () -> DomainXml.parse("<domain><name>x</name><metadata>"
                + "<s:e xmlns:s='https://septum.io/libvirt/1'><s:port name='web' protocol='gre'>80</s:port></s:e>"
                + "</metadata></domain>"));
        assertTrue(e.getMessage().contains("unknown protocol \"GRE\""), e.getMessage());
        assertThrows(IOException.class, () -> DomainXml.parse("<!DOCTYPE x [<!ENTITY a 'b'>]><domain/>"));
    }

    @Test
    void describeUsesTheHostSideDeviceAndNeverTheMetadataNamespace(@TempDir Path tmp) throws IOException {
        Path net = Files.createDirectories(tmp.resolve("net"));
        LibvirtSource s = new LibvirtSource(settings("test:///default", tmp.resolve("leases")), net, tmp.resolve("arp"));
        assertNull(s.describe(WEB), "no host-side device: not an endpoint");
        Files.createDirectories(net.resolve("sttap1"));
        EndpointSpec spec = s.describe(WEB);
        assertEquals(WEB_UUID, spec.sourceId());
        assertEquals("sttap1", spec.interfaceName());
        assertEquals("default", spec.namespace());
        assertEquals(Map.of("app", "web", "tier", "front", "domain", "sept-t-web"), spec.labels());
        assertEquals(List.of("10.199.77.9"), spec.addresses());
        assertEquals(List.of(new NamedPort("http", 8080, "TCP"), new NamedPort("dns", 53, "UDP")), spec.ports());
        assertEquals(Map.of("domain-name", "sept-t-web", "domain-uuid", WEB_UUID),
                spec.externalIds());
    }

    @Test
    void addressesFromLeasesAndNeighbours(@TempDir Path tmp) throws IOException {
        Path leases = Files.createDirectories(tmp.resolve("leases"));
        Files.writeString(leases.resolve("virbr0.status"), """
                [{"ip-address": "192.168.122.50", "mac-address": "52:54:00:aa:bb:01", "expiry-time": 1},
                 {"ip-address": "192.168.122.51", "mac-address": "52:54:00:aa:bb:02", "expiry-time": 1}]""");
        Files.writeString(tmp.resolve("arp"), """
                IP address       HW type     Flags       HW address            Mask     Device
                10.199.1.7       0x1         0x2         52:54:00:aa:bb:01     *        sttap1
                10.199.1.8       0x1         0x0         52:54:00:aa:bb:01     *        sttap1
                10.199.1.9       0x1         0x2         52:54:00:aa:bb:03     *        sttap3
                """);
        Addresses a = new Addresses(leases, tmp.resolve("arp"));
        assertEquals(List.of("192.168.122.50", "10.199.1.7"), a.of(Set.of("52:54:00:aa:bb:01")));
        assertEquals(List.of(), a.of(Set.of("52:54:00:aa:bb:09")));
    }

    @Test
    void configIsValidated() {
        assertThrows(IllegalArgumentException.class, () -> new LibvirtSource.Settings("nope", "default",
                Duration.ofSeconds(1), Duration.ofSeconds(1), Path.of("/x")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LibvirtSource.Settings(
                "test:///default", "Kube_System", Duration.ofSeconds(1), Duration.ofSeconds(1), Path.of("/x")));
        assertTrue(e.getMessage().contains("namespace \"Kube_System\""), e.getMessage());
    }

    /** The real libvirt client library and its test driver: a node file with one running domain. */
    @Test
    void reportsRunningDomainsOfARealConnection(@TempDir Path tmp) throws Exception {
        assumeLibvirtClient();
        Path node = nodeFile(tmp, WEB);
        Path net = netWithTap(tmp);
        RecordingSink sink = RecordingSink.withoutNamespaces("libvirt");
        LibvirtSource s = new LibvirtSource(settings("test://" + node, tmp.resolve("leases")), net, tmp.resolve("arp"));
        s.open(sink);
        try {
            assertTrue(await(() -> sink.specs().containsKey(WEB_UUID)), "upserted");
            assertTrue(await(() -> sink.lastHealth() != null && sink.lastHealth().connected()));
            assertEquals("sttap1", sink.specs().get(WEB_UUID).interfaceName());
            assertTrue(await(() -> sink.resyncs().stream().anyMatch(r -> r.contains(WEB_UUID))));
            assertTrue(s.health().state().equals("ok"), s.health().toString());
        } finally {
            s.close();
        }
    }

    @Test
    void anAbsentDaemonIsReportedAndRetried(@TempDir Path tmp) throws Exception {
        assumeLibvirtClient();
        RecordingSink sink = RecordingSink.withoutNamespaces("libvirt");
        LibvirtSource s = new LibvirtSource(settings("lxc:///system?socket=" + tmp.resolve("none.sock"),
                tmp.resolve("leases")), tmp, tmp.resolve("arp"));
        s.open(sink);
        try {
            assertTrue(await(() -> sink.health().size() >= 2), "retried: " + sink.health());
            SourceHealth h = sink.health().get(0);
            assertFalse(h.connected());
            assertTrue(h.error().contains("none.sock"), h.error());
            assertEquals("degraded", s.health().state());
            assertTrue(sink.specs().isEmpty());
        } finally {
            s.close();
        }
    }

    /** A virsh that dies at once: restarted with backoff, said in status, and the listings go on meanwhile. */
    @Test
    void aDyingEventChildIsRestartedWithBackoff(@TempDir Path tmp) throws Exception {
        assumeLibvirtClient();
        Path node = nodeFile(tmp, WEB);
        Path net = netWithTap(tmp);
        Path starts = tmp.resolve("starts");
        Path virsh = fakeVirsh(tmp, "echo \"$*\" >> " + starts + "\necho 'error: no daemon here' >&2\nexit 1\n");
        RecordingSink sink = RecordingSink.withoutNamespaces("libvirt");
        LibvirtSource s = new LibvirtSource(new LibvirtSource.Settings("test://" + node, "default",
                Duration.ofSeconds(60), Duration.ofSeconds(2), tmp.resolve("leases"), virsh.toString()), net,
                tmp.resolve("arp"));
        s.open(sink);
        try {
            assertTrue(await(() -> sink.specs().containsKey(WEB_UUID)), "upserted");
            assertTrue(await(() -> lines(starts) >= 3), "restarted: " + lines(starts));
            assertTrue(Files.readString(starts).contains("-r -c test://" + node + " event --all --loop --timestamp"),
                    Files.readString(starts));
            assertTrue(await(() -> s.health().message().contains("no daemon here")), s.health().toString());
            assertEquals("ok", s.health().state(), "listing still works: " + s.health());
            assertTrue(sink.resyncs().size() >= 2, "a listing after each death: " + sink.resyncs().size());
        } finally {
            s.close();
        }
        long after = lines(starts);
        Thread.sleep(2500); // longer than the largest backoff: a closed source starts nothing any more
        assertEquals(after, lines(starts), "no restart after close");
        // Closed while a restart was pending, opened again: it starts afresh.
        RecordingSink again = RecordingSink.withoutNamespaces("libvirt");
        s.open(again);
        try {
            assertTrue(await(() -> lines(starts) > after), "started again after reopening");
            assertTrue(await(() -> again.specs().containsKey(WEB_UUID)), "listed again");
        } finally {
            s.close();
        }
    }

    /**
     * A domain whose event arrives before its address exists (a QEMU guest before its DHCP lease) is re-read every
     * second after the event, so it becomes an endpoint long before the next full listing (60 s here). The event
     * comes from a stand-in virsh; the domain is read through the real client library (test driver).
     */
    @Test
    void aStartedDomainWithoutAddressYetIsReReadAfterItsEvent(@TempDir Path tmp) throws Exception {
        assumeLibvirtClient();
        Path node = nodeFile(tmp, WEB.replace("<septum:address>10.199.77.9</septum:address>", ""));
        Path net = netWithTap(tmp);
        Path leases = Files.createDirectories(tmp.resolve("leases"));
        Path virsh = fakeVirsh(tmp, "echo \"2026-11-27 08:48:01.256+0000: event 'lifecycle' for domain"
                + " 'sept-t-web': Started Booted\"\nexec sleep 600\n");
        RecordingSink sink = RecordingSink.withoutNamespaces("libvirt");
        LibvirtSource s = new LibvirtSource(new LibvirtSource.Settings("test://" + node, "default",
                Duration.ofSeconds(60), Duration.ofSeconds(2), leases, virsh.toString()), net, tmp.resolve("arp"));
        s.open(sink);
        try {
            // The first listing and the one 2 s after virsh started: both without an address.
            assertTrue(await(() -> sink.resyncs().size() >= 2), "listed twice: " + sink.resyncs());
            assertTrue(s.health().message().contains("following domain events"), s.health().toString());
            assertTrue(sink.specs().isEmpty(), "no address yet: " + sink.specs());
            Files.writeString(leases.resolve("virbr0.status"),
                    "[{\"ip-address\": \"192.168.122.50\", \"mac-address\": \"52:54:00:aa:bb:01\", \"expiry-time\": 1}]");
            long t0 = System.nanoTime();
            assertTrue(await(() -> sink.specs().containsKey(WEB_UUID)), "upserted");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 5000, "re-read after its event, not at the next listing: " + ms + " ms");
            assertEquals(List.of("192.168.122.50"), sink.specs().get(WEB_UUID).addresses());
            assertEquals(2, sink.resyncs().size(), "no full listing did it");
        } finally {
            s.close();
        }
    }

    /** The tests that read domains go through the real client library, which may be missing on a developer's machine. */
    private static void assumeLibvirtClient() {
        Assumptions.assumeTrue(Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libvirt.so.0"))
                || Boolean.getBoolean("septum.e2e.required"), "libvirt0 is not installed");
    }

    /** A node file of libvirt's test driver (test://PATH) holding {@code domains}. */
    private static Path nodeFile(Path tmp, String domains) throws IOException {
        Path node = tmp.resolve("node.xml");
        Files.writeString(node, "<node>" + domains + "</node>");
        return node;
    }

    /** A stand-in for /sys/class/net holding the tap device of domain WEB (sttap1). */
    private static Path netWithTap(Path tmp) throws IOException {
        Path net = Files.createDirectories(tmp.resolve("net"));
        Files.createDirectories(net.resolve("sttap1"));
        return net;
    }

    /** A stand-in for virsh: a shell script with {@code body}. */
    private static Path fakeVirsh(Path tmp, String body) throws IOException {
        Path virsh = tmp.resolve("fake-virsh");
        Files.writeString(virsh, "#!/bin/sh\n" + body);
        assertTrue(virsh.toFile().setExecutable(true));
        return virsh;
    }

    private static long lines(Path p) {
        try {
            return Files.exists(p) ? Files.readAllLines(p).size() : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private static boolean await(BooleanSupplier c) throws InterruptedException {
        return Await.within(Duration.ofSeconds(20), c);
    }
}
