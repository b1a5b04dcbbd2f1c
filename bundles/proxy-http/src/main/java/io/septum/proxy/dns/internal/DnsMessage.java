package io.septum.proxy.dns.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The parts of a DNS message (RFC 1035) the proxy needs: the header, the one question, and the A and AAAA
 * records of the answer section. Names may be compressed; every length, pointer and count is checked against the
 * message, so that any byte string either parses or is refused with {@link Malformed}, never read out of bounds.
 *
 * @param id       the transaction id
 * @param flags    the header's second 16 bits (QR, opcode, AA, TC, RD, RA, rcode)
 * @param name     the question's name, lower case, without the trailing dot ("" for the root)
 * @param questionEnd where the question section ends: a reply to the query copies the bytes up to there
 */
record DnsMessage(int id, int flags, String name, int qtype, int questionEnd, List<Answer> answers) {
    static final int TYPE_A = 1;
    static final int TYPE_AAAA = 28;
    static final int RCODE_REFUSED = 5;
    static final int RCODE_SERVFAIL = 2;
    /** A name's longest presentation form, RFC 1035 2.3.4. */
    private static final int MAX_NAME = 253;
    private static final int HEADER = 12;

    /** One address record: the address and its TTL in seconds. */
    record Answer(String ip, long ttl) {
    }

    static final class Malformed extends Exception {
        Malformed(String why) {
            super(why);
        }
    }

    boolean response() {
        return (flags & 0x8000) != 0;
    }

    int opcode() {
        return (flags >> 11) & 0xf;
    }

    int rcode() {
        return flags & 0xf;
    }

    /** The question's type by name, as Hubble prints it ({@code A}, {@code AAAA}, or {@code TYPE65}). */
    String qtypeName() {
        return switch (qtype) {
            case TYPE_A -> "A";
            case TYPE_AAAA -> "AAAA";
            case 5 -> "CNAME";
            case 15 -> "MX";
            case 16 -> "TXT";
            case 33 -> "SRV";
            case 12 -> "PTR";
            default -> "TYPE" + qtype;
        };
    }

    static DnsMessage parse(byte[] m, int length) throws Malformed {
        if (length < HEADER) throw new Malformed("shorter than a DNS header (" + length + " bytes)");
        int id = u16(m, 0);
        int flags = u16(m, 2);
        int qd = u16(m, 4);
        int an = u16(m, 6);
        if (qd != 1) throw new Malformed("holds " + qd + " questions, not 1");
        int[] pos = {HEADER};
        String name = name(m, length, pos, true);
        if (pos[0] + 4 > length) throw new Malformed("the question ends early");
        int qtype = u16(m, pos[0]);
        pos[0] += 4;
        int questionEnd = pos[0];
        List<Answer> answers = new ArrayList<>();
        for (int i = 0; i < an; i++) {
            name(m, length, pos, false);
            if (pos[0] + 10 > length) throw new Malformed("answer " + i + " ends early");
            int type = u16(m, pos[0]);
            long ttl = ((long) u16(m, pos[0] + 4) << 16 | u16(m, pos[0] + 6)) & 0x7fffffffL; // RFC 2181 8: top bit 0
            int rdlen = u16(m, pos[0] + 8);
            int rdata = pos[0] + 10;
            if (rdata + rdlen > length) throw new Malformed("answer " + i + "'s data runs past the message");
            if ((type == TYPE_A && rdlen == 4) || (type == TYPE_AAAA && rdlen == 16)) {
                byte[] a = new byte[rdlen];
                System.arraycopy(m, rdata, a, 0, rdlen);
                try {
                    answers.add(new Answer(InetAddress.getByAddress(a).getHostAddress(), ttl));
                } catch (UnknownHostException e) {
                    throw new Malformed("bad address in answer " + i);
                }
            }
            pos[0] = rdata + rdlen;
        }
        return new DnsMessage(id, flags, name, qtype, questionEnd, answers);
    }

    /**
     * Reads a name at pos[0], advancing pos[0] past it (not past a pointer's target). The question's name
     * ({@code question}) must be uncompressed (nothing precedes it that a pointer could name) and hold only bytes a
     * hostname holds; the answer section's names may be compressed and hold other bytes (DNS-SD), since they are
     * only skipped.
     */
    private static String name(byte[] m, int length, int[] pos, boolean question) throws Malformed {
        StringBuilder b = new StringBuilder();
        int p = pos[0];
        int jumps = 0;
        boolean jumped = false;
        while (true) {
            if (p >= length) throw new Malformed("a name runs past the message");
            int len = m[p] & 0xff;
            if (len == 0) {
                if (!jumped) pos[0] = p + 1;
                break;
            }
            if ((len & 0xc0) == 0xc0) {
                if (question) throw new Malformed("the question's name is compressed");
                if (p + 1 >= length) throw new Malformed("a name pointer runs past the message");
                if (++jumps > 16) throw new Malformed("name pointers loop");
                if (!jumped) pos[0] = p + 2;
                jumped = true;
                p = ((len & 0x3f) << 8) | (m[p + 1] & 0xff);
                continue;
            }
            if ((len & 0xc0) != 0) throw new Malformed("unknown label type " + (len >> 6));
            if (p + 1 + len > length) throw new Malformed("a label runs past the message");
            if (b.length() > 0) b.append('.');
            for (int i = 1; i <= len; i++) {
                int c = m[p + i] & 0xff;
                // a dot inside a label, or a byte no hostname holds, would let one name pass for another
                if (question && (c <= 0x20 || c >= 0x7f || c == '.')) throw new Malformed("a label holds byte " + c);
                b.append((char) c);
            }
            if (b.length() > MAX_NAME) throw new Malformed("a name is longer than " + MAX_NAME + " characters");
            p += 1 + len;
        }
        return b.toString().toLowerCase(Locale.ROOT);
    }

    /**
     * The answer to {@code query} (its first {@code questionEnd} bytes: header and question) with {@code rcode} and
     * no records: how the proxy REFUSES a name, as Cilium's does.
     */
    static byte[] answer(byte[] query, DnsMessage q, int rcode) {
        byte[] out = new byte[q.questionEnd()];
        System.arraycopy(query, 0, out, 0, out.length);
        int flags = 0x8000 | (q.flags() & 0x7900) | 0x0080 | (rcode & 0xf); // QR, opcode+RD kept, RA
        out[2] = (byte) (flags >> 8);
        out[3] = (byte) flags;
        for (int i = 6; i < HEADER; i++) out[i] = 0; // no answer, authority or additional records
        return out;
    }

    private static int u16(byte[] m, int at) {
        return (m[at] & 0xff) << 8 | (m[at + 1] & 0xff);
    }
}
