package io.septum.datapath.ebpf.internal;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.septum.api.datapath.DatapathEvent;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Set;
import jnr.ffi.Runtime;

/**
 * Fuzz target for the BPF event decoder: random bytes as one {@code septum_events} ring-buffer record. The
 * contract: a record shorter than {@code struct septum_event} is refused with an {@link IllegalArgumentException}
 * that says so; any other record decodes into an event whose names come from the fixed sets, whose ports fit 16
 * bits and whose addresses are addresses, whatever the bytes (a newer or broken program, a stale pinned ring).
 * Seeds ({@code EventDecoderFuzzTestInputs/decode/}): records as the tc programs write them (verdicts, drops, IPv4,
 * IPv6, audit, redirect) and out-of-range values.
 */
class EventDecoderFuzzTest {
    private static final Set<String> DIRECTIONS = Set.of("INGRESS", "EGRESS", "UNKNOWN");
    private static final Set<String> VERDICTS = Set.of("FORWARDED", "DROPPED", "AUDIT", "REDIRECTED", "UNKNOWN");
    private final EventDecoder decoder = new EventDecoder(Runtime.getSystemRuntime());

    @FuzzTest(maxDuration = "10m")
    void decode(byte[] record) throws UnknownHostException {
        if (record.length < decoder.size()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> decoder.decode(record));
            assertTrue(e.getMessage().contains(String.valueOf(decoder.size())), e.getMessage());
            return;
        }
        DatapathEvent ev = decoder.decode(record);
        assertNotNull(ev.type());
        assertTrue(DIRECTIONS.contains(ev.direction()), ev.direction());
        assertTrue(VERDICTS.contains(ev.verdict()), ev.verdict());
        assertNotNull(ev.protocol());
        assertNotNull(ev.dropReasonText());
        assertTrue(ev.srcPort() >= 0 && ev.srcPort() <= 0xffff && ev.dstPort() >= 0 && ev.dstPort() <= 0xffff);
        for (String ip : new String[] {ev.srcIp(), ev.dstIp()}) {
            // a literal, never a name: getByName must not resolve anything
            assertTrue(ip.matches("[0-9a-f:.]+"), ip);
            assertNotNull(InetAddress.getByName(ip));
        }
    }
}
