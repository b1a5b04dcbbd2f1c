package io.septum.api;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * An IPv4 or IPv6 prefix ({@code 10.0.0.0/8}, {@code fd00::/64}) or a single address (a bare address is its
 * {@code /32} or {@code /128}). The one prefix type of the contract: parsing never asks DNS, and host bits beyond
 * the length are cleared, so equal networks are equal values.
 */
public final class IpPrefix {
    private final byte[] network;
    private final int bits;

    private IpPrefix(byte[] network, int bits) {
        this.network = network;
        this.bits = bits;
    }

    /** Parses {@code ADDRESS[/LENGTH]}. Throws {@link IllegalArgumentException} saying what is wrong. */
    public static IpPrefix parse(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty address");
        String t = text.trim();
        int slash = t.indexOf('/');
        String addr = slash >= 0 ? t.substring(0, slash) : t;
        byte[] raw = literal(addr);
        if (raw == null) throw new IllegalArgumentException("\"" + text + "\" is not an IPv4 or IPv6 address");
        int max = raw.length * 8;
        int bits = max;
        if (slash >= 0) {
            String len = t.substring(slash + 1);
            if (len.isEmpty() || len.length() > 3 || !digits(len)) {
                throw new IllegalArgumentException("\"" + text + "\": prefix length \"" + len + "\" is not a number");
            }
            bits = Integer.parseInt(len);
            if (bits > max) throw new IllegalArgumentException("\"" + text + "\": prefix length " + bits + " is over " + max);
        }
        return new IpPrefix(mask(raw, bits), bits);
    }

    /** The prefix of one address. */
    public static IpPrefix of(InetAddress address) {
        byte[] raw = address.getAddress();
        return new IpPrefix(raw, raw.length * 8);
    }

    /** The {@code bits}-long prefix that holds the address. */
    public static IpPrefix of(InetAddress address, int bits) {
        byte[] raw = address.getAddress();
        if (bits < 0 || bits > raw.length * 8) throw new IllegalArgumentException("prefix length " + bits + " for " + address);
        return new IpPrefix(mask(raw, bits), bits);
    }

    /** An IPv4 or IPv6 literal's bytes, or null; never a DNS query. */
    static byte[] literal(String s) {
        if (s.isEmpty()) return null;
        if (s.indexOf(':') < 0) return ipv4(s);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.digit(c, 16) < 0 && c != ':' && c != '.') return null;
        }
        try {
            // a bracketed literal is parsed, never resolved; ::ffff:a.b.c.d is IPv4, as InetAddress has it
            return InetAddress.getByName("[" + s + "]").getAddress();
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /**
     * Four dot-separated decimal parts of one to three digits, each at most 255; null otherwise. By hand, not with
     * split and streams: the ipcache parses every entry of a snapshot, ten thousand and more in cluster mode.
     */
    private static byte[] ipv4(String s) {
        byte[] b = new byte[4];
        int part = 0, value = 0, digits = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '.') {
                if (digits == 0 || part == 3) return null;
                b[part++] = (byte) value;
                value = 0;
                digits = 0;
            } else if (c >= '0' && c <= '9') {
                if (++digits > 3) return null;
                value = value * 10 + (c - '0');
                if (value > 255) return null;
            } else {
                return null;
            }
        }
        if (digits == 0 || part != 3) return null;
        b[3] = (byte) value;
        return b;
    }

    private static boolean digits(String s) {
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) < '0' || s.charAt(i) > '9') return false;
        return true;
    }

    private static byte[] mask(byte[] raw, int bits) {
        byte[] n = raw.clone();
        for (int i = 0; i < n.length; i++) {
            int keep = Math.max(0, Math.min(8, bits - i * 8));
            n[i] &= (byte) (0xff << (8 - keep));
        }
        return n;
    }

    /** The network's bytes: 4 for IPv4, 16 for IPv6. */
    public byte[] network() {
        return network.clone();
    }

    public int bits() {
        return bits;
    }

    public boolean isIpv4() {
        return network.length == 4;
    }

    /** Whether {@code address} (4 or 16 bytes) is inside; an address of the other family never is. */
    public boolean contains(byte[] address) {
        if (address.length != network.length) return false;
        int full = bits / 8;
        for (int i = 0; i < full; i++) if (address[i] != network[i]) return false;
        int rest = bits % 8;
        if (rest == 0) return true;
        int m = 0xff << (8 - rest) & 0xff;
        return (address[full] & m) == (network[full] & 0xff);
    }

    public boolean contains(InetAddress address) {
        return contains(address.getAddress());
    }

    /** Whether every address of {@code other} is inside this one. */
    public boolean contains(IpPrefix other) {
        return other.bits >= bits && contains(other.network);
    }

    /** The canonical text: {@code 10.0.0.0/8}; a single address keeps its length ({@code 10.0.0.1/32}). */
    @Override
    public String toString() {
        try {
            return InetAddress.getByAddress(network).getHostAddress() + "/" + bits;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IpPrefix p && p.bits == bits && Arrays.equals(p.network, network);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(network) * 31 + bits;
    }
}
