package io.septum.proxy.dns.internal;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Builds DNS messages for the tests: a query, and an answer with A records whose owner is a pointer to the question. */
final class DnsWire {
    private DnsWire() {
    }

    static byte[] query(int id, String name, int qtype) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        u16(b, id);
        u16(b, 0x0100); // RD
        u16(b, 1);
        u16(b, 0);
        u16(b, 0);
        u16(b, 0);
        for (String label : name.split("\\.")) {
            byte[] l = label.getBytes(StandardCharsets.US_ASCII);
            b.write(l.length);
            b.writeBytes(l);
        }
        b.write(0);
        u16(b, qtype);
        u16(b, 1);
        return b.toByteArray();
    }

    /** The answer to {@code query}: one A record per address, each with {@code ttl}. */
    static byte[] answer(byte[] query, long ttl, byte[]... addresses) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(query);
        byte[] out = b.toByteArray();
        out[2] = (byte) 0x81;
        out[3] = (byte) 0x80;
        out[7] = (byte) addresses.length;
        b = new ByteArrayOutputStream();
        b.writeBytes(out);
        for (byte[] a : addresses) {
            u16(b, 0xc00c); // the question's name
            u16(b, DnsMessage.TYPE_A);
            u16(b, 1);
            u16(b, (int) (ttl >> 16));
            u16(b, (int) ttl);
            u16(b, a.length);
            b.writeBytes(a);
        }
        return b.toByteArray();
    }

    private static void u16(ByteArrayOutputStream b, int v) {
        b.write(v >> 8);
        b.write(v);
    }
}
