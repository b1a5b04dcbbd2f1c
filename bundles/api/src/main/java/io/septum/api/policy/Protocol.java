package io.septum.api.policy;

import java.util.Locale;

/** L4 protocols a rule can name. {@link #ANY} matches TCP, UDP and SCTP (Cilium's meaning). */
public enum Protocol {
    ANY(0), ICMP(1), TCP(6), UDP(17), ICMPV6(58), SCTP(132);

    private final int number;

    Protocol(int number) {
        this.number = number;
    }

    /** The IP protocol number (0 for ANY). */
    public int number() {
        return number;
    }

    public static Protocol byNumber(int n) {
        for (Protocol p : values()) if (p.number == n) return p;
        throw new IllegalArgumentException("unknown IP protocol number " + n);
    }

    /** Parses TCP/UDP/SCTP/ANY/ICMP/ICMPv6, case-insensitive. */
    public static Protocol parse(String s) {
        if (s == null) throw new IllegalArgumentException("protocol is null");
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown protocol \"" + s + "\" (expected TCP, UDP, SCTP or ANY)");
        }
    }
}
