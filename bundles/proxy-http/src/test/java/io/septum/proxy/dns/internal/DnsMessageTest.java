package io.septum.proxy.dns.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class DnsMessageTest {
    @Test
    void aQueryAndItsAnswer() throws Exception {
        byte[] q = DnsWire.query(0x1234, "API.Example.com", DnsMessage.TYPE_A);
        DnsMessage m = DnsMessage.parse(q, q.length);
        assertEquals(0x1234, m.id());
        assertEquals("api.example.com", m.name(), "names compare in lower case");
        assertEquals("A", m.qtypeName());
        assertFalse(m.response());
        assertEquals(q.length, m.questionEnd());

        byte[] a = DnsWire.answer(q, 300, new byte[] {10, 0, 0, 1}, new byte[] {10, 0, 0, 2});
        DnsMessage r = DnsMessage.parse(a, a.length);
        assertTrue(r.response());
        assertEquals(0, r.rcode());
        assertEquals(List.of(new DnsMessage.Answer("10.0.0.1", 300), new DnsMessage.Answer("10.0.0.2", 300)),
                r.answers());
    }

    @Test
    void refusedKeepsTheQuestionAndSaysSo() throws Exception {
        byte[] q = DnsWire.query(7, "api.example.org", DnsMessage.TYPE_A);
        DnsMessage m = DnsMessage.parse(q, q.length);
        byte[] refused = DnsMessage.answer(q, m, DnsMessage.RCODE_REFUSED);
        DnsMessage r = DnsMessage.parse(refused, refused.length);
        assertTrue(r.response());
        assertEquals(7, r.id());
        assertEquals(DnsMessage.RCODE_REFUSED, r.rcode());
        assertEquals("api.example.org", r.name());
        assertTrue(r.answers().isEmpty());
        assertEquals(0x01, refused[2] & 0x01, "RD copied");
        assertArrayEquals(Arrays.copyOfRange(q, 12, q.length), Arrays.copyOfRange(refused, 12, refused.length));
    }

    @Test
    void badMessagesAreRefusedNotReadOutOfBounds() {
        byte[] q = DnsWire.query(1, "a.example", DnsMessage.TYPE_A);
        for (int cut = 0; cut < q.length; cut++) {
            int len = cut;
            assertThrows(DnsMessage.Malformed.class, () -> DnsMessage.parse(q, len), "cut at " + cut);
        }
        byte[] compressed = q.clone();
        compressed[12] = (byte) 0xc0; // the question's name points at itself
        compressed[13] = 12;
        assertTrue(assertThrows(DnsMessage.Malformed.class, () -> DnsMessage.parse(compressed, compressed.length))
                .getMessage().contains("compressed"));
        byte[] loop = DnsWire.answer(q, 60, new byte[] {10, 0, 0, 1});
        loop[q.length] = (byte) 0xc0; // the answer's owner name points at itself
        loop[q.length + 1] = (byte) q.length;
        assertTrue(assertThrows(DnsMessage.Malformed.class, () -> DnsMessage.parse(loop, loop.length))
                .getMessage().contains("loop"));
        byte[] two = q.clone();
        two[5] = 2;
        assertThrows(DnsMessage.Malformed.class, () -> DnsMessage.parse(two, two.length));
        byte[] dotted = DnsWire.query(1, "api.example.com", DnsMessage.TYPE_A);
        dotted[1 + 12 + 3] = '.'; // "api" "example" -> a label holding a dot would read as another name
        assertThrows(DnsMessage.Malformed.class, () -> DnsMessage.parse(dotted, dotted.length));
        byte[] answer = DnsWire.answer(q, 60, new byte[] {10, 0, 0, 1});
        assertThrows(DnsMessage.Malformed.class, () -> DnsMessage.parse(answer, answer.length - 1),
                "an address cut short");
    }
}
