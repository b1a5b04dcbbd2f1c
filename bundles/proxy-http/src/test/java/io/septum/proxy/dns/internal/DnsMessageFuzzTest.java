package io.septum.proxy.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzz target for the DNS proxy's message parser: any bytes either parse or are refused with
 * {@link DnsMessage.Malformed}, never another exception; a parsed message's REFUSED answer parses back with the same
 * id, name and type. Seeds ({@code DnsMessageFuzzTestInputs/parse/}): a query and an answer with a compressed name.
 */
class DnsMessageFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void parse(byte[] input) {
        DnsMessage m;
        try {
            m = DnsMessage.parse(input, input.length);
        } catch (DnsMessage.Malformed e) {
            return;
        }
        assertTrue(m.questionEnd() <= input.length);
        assertTrue(m.name().length() <= 253, m.name());
        byte[] refused = DnsMessage.answer(input, m, DnsMessage.RCODE_REFUSED);
        DnsMessage r;
        try {
            r = DnsMessage.parse(refused, refused.length);
        } catch (DnsMessage.Malformed e) {
            throw new AssertionError("the REFUSED answer to a parsed query does not parse: " + e.getMessage(), e);
        }
        // the question is never compressed, so the answer carries it whole
        assertEquals(m.id(), r.id());
        assertEquals(m.name(), r.name());
        assertEquals(m.qtype(), r.qtype());
        assertEquals(DnsMessage.RCODE_REFUSED, r.rcode());
    }
}
