package io.septum.source.libvirt.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The lines below are what virsh 9.0 prints (copied from a run against the test libvirtd), plus hostile ones. */
class DomainEventTest {
    private static DomainEvent parse(String line) {
        Optional<DomainEvent> e = DomainEvent.parse(line);
        assertTrue(e.isPresent(), "not parsed: " + line);
        return e.get();
    }

    @Test
    void lifecycleLinesWithAndWithoutTimestamp() {
        DomainEvent e = parse("2026-11-27 08:48:01.256+0000: event 'lifecycle' for domain 'sept-tlvev-x': Started Booted");
        assertEquals(new DomainEvent("lifecycle", "sept-tlvev-x", "Started Booted", true), e);
        assertTrue(e.relevant());
        assertEquals(new DomainEvent("lifecycle", "web", "Stopped Destroyed", true),
                parse("event 'lifecycle' for domain 'web': Stopped Destroyed"));
        assertEquals(new DomainEvent("lifecycle", "vm1", "Suspended I/O Error", true),
                parse("2026-11-27 08:48:06.890+0000: event 'lifecycle' for domain 'vm1': Suspended I/O Error\r"));
        assertEquals("Undefined Removed",
                parse("2026-11-27 08:48:07.369+0000: event 'lifecycle' for domain 'x': Undefined Removed").detail());
    }

    @Test
    void namesWithQuotesAndColonsAreExactForLifecycle() {
        assertEquals(new DomainEvent("lifecycle", "it's: a 'vm'", "Started Booted", true),
                parse("event 'lifecycle' for domain 'it's: a 'vm'': Started Booted"));
    }

    @Test
    void otherKinds() {
        DomainEvent m = parse("2026-11-27 08:48:02.923+0000: event 'metadata-change' for domain 'sept-tlvev-x': "
                + "type element, uri https://septum.io/libvirt/1");
        assertEquals(new DomainEvent("metadata-change", "sept-tlvev-x", "type element, uri https://septum.io/libvirt/1",
                true), m);
        assertTrue(m.relevant());
        assertEquals(new DomainEvent("reboot", "vm1", "", true), parse("event 'reboot' for domain 'vm1'"));
        assertEquals(new DomainEvent("device-added", "vm1", "net1", true),
                parse("event 'device-added' for domain 'vm1': net1"));
        DomainEvent tunable = parse("event 'tunable' for domain 'vm1':");
        assertEquals("vm1", tunable.domain());
        assertFalse(tunable.relevant());
        DomainEvent disk = parse("event 'disk-change' for domain 'vm1' disk vda: old -> new: dropped");
        assertEquals("vm1", disk.domain());
        assertFalse(disk.relevant());
    }

    @Test
    void aQuoteAfterTheNameMakesItAGuess() {
        DomainEvent e = parse("event 'agent-lifecycle' for domain 'vm1': state: 'connected' reason: 'channel event'");
        assertEquals("vm1", e.domain());
        assertFalse(e.exact(), "a quote in the detail: the name is not certain");
        assertFalse(e.relevant());
        DomainEvent two = parse("event 'device-removed' for domain 'a': b': net0");
        assertFalse(two.exact(), "domain a with detail \"b': net0\", or domain \"a': b\" with detail net0");
        assertTrue(parse("event 'device-removed' for domain 'a'b': net0").exact(), "only one way to read it");
        assertEquals("a'b", parse("event 'device-removed' for domain 'a'b': net0").domain());
    }

    @Test
    void everythingElseIsIgnored() {
        for (String line : new String[] {null, "", "   ", "events received: 5",
                "error: Disconnected from lxc:///system?socket=/run/x due to end of file",
                "error: internal error: client socket is closed", "\tcpu_shares: 1024",
                "event 'lifecycle' for domain '': Started Booted", "event 'Lifecycle' for domain 'x': Started Booted",
                "evenement 'lifecycle' pour le domaine 'x' : Started Booted",
                "2026-11-27: event 'lifecycle' for domain 'x': Started Booted",
                "event 'lifecycle' for domain 'x': Started Booted".repeat(100)}) {
            assertEquals(Optional.empty(), DomainEvent.parse(line), String.valueOf(line));
        }
    }
}
