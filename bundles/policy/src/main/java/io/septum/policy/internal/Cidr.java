package io.septum.policy.internal;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/**
 * An IPv4 or IPv6 prefix, normalized (host bits cleared). Parsed by hand rather than through
 * {@link InetAddress#getByName} on arbitrary text, because that would resolve host names.
 */
record Cidr(byte[] address, int prefixLength) {

    int bits() {
        return address.length * 8;
    }

    boolean isIpv4() {
        return address.length == 4;
    }

    /** True when every address of {@code other} lies inside this prefix. */
    boolean contains(Cidr other) {
        if (other.address.length != address.length || other.prefixLength < prefixLength) return false;
        return prefixBits(other.address, prefixLength).equals(prefixBits(address, prefixLength));
    }

    private static BigInteger prefixBits(byte[] addr, int len) {
        BigInteger v = new BigInteger(1, addr);
        int shift = addr.length * 8 - len;
        return v.shiftRight(shift);
    }

    @Override
    public String toString() {
        try {
            String host = InetAddress.getByAddress(address).getHostAddress();
            if (!isIpv4()) host = compressV6(host);
            return host + "/" + prefixLength;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr c && c.prefixLength == prefixLength && java.util.Arrays.equals(c.address, address);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(address) * 31 + prefixLength;
    }

    /**
     * Parses {@code a.b.c.d/len}, {@code v6::/len}, or a bare address (a host prefix). Cilium writes IPv6 CIDR
     * labels with {@code -} for {@code :}, so that form is accepted too.
     *
     * @throws IllegalArgumentException with the reason, not quoting the text (callers quote it with its field)
     */
    static Cidr parse(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty CIDR");
        String s = text.trim();
        int slash = s.indexOf('/');
        String addr = slash < 0 ? s : s.substring(0, slash);
        if (!addr.contains(":") && !addr.contains(".") && addr.contains("-")) addr = addr.replace('-', ':');
        byte[] bytes = addr.contains(":") ? parseV6(addr) : parseV4(addr);
        int max = bytes.length * 8;
        int len = max;
        if (slash >= 0) {
            String l = s.substring(slash + 1);
            if (l.isEmpty() || l.length() > 3 || !l.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("prefix length \"" + l + "\" is not a number");
            }
            len = Integer.parseInt(l);
            if (len > max) throw new IllegalArgumentException("prefix length must be 0-" + max);
        }
        return new Cidr(mask(bytes, len), len);
    }

    static Optional<Cidr> tryParse(String text) {
        try {
            return Optional.of(parse(text));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static byte[] mask(byte[] bytes, int len) {
        byte[] out = bytes.clone();
        for (int i = 0; i < out.length; i++) {
            int keep = Math.max(0, Math.min(8, len - i * 8));
            out[i] = (byte) (out[i] & (0xff << (8 - keep)));
        }
        return out;
    }

    private static byte[] parseV4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) throw new IllegalArgumentException("not an IPv4 or IPv6 address");
        byte[] out = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("not an IPv4 address");
            }
            int v = Integer.parseInt(p);
            if (v > 255) throw new IllegalArgumentException("IPv4 octet " + v + " is above 255");
            out[i] = (byte) v;
        }
        return out;
    }

    private static byte[] parseV6(String s) {
        if (!s.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.')) {
            throw new IllegalArgumentException("not an IPv6 address");
        }
        int dbl = s.indexOf("::");
        if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) throw new IllegalArgumentException("more than one \"::\"");
        String head = dbl >= 0 ? s.substring(0, dbl) : s;
        String tail = dbl >= 0 ? s.substring(dbl + 2) : "";
        int[] h = groups(head);
        int[] t = groups(tail);
        int total = h.length + t.length;
        if (dbl < 0 && total != 8) throw new IllegalArgumentException("an IPv6 address has 8 groups");
        if (dbl >= 0 && total > 7) throw new IllegalArgumentException("too many IPv6 groups");
        byte[] out = new byte[16];
        for (int i = 0; i < h.length; i++) {
            out[2 * i] = (byte) (h[i] >> 8);
            out[2 * i + 1] = (byte) h[i];
        }
        for (int i = 0; i < t.length; i++) {
            int g = 8 - t.length + i;
            out[2 * g] = (byte) (t[i] >> 8);
            out[2 * g + 1] = (byte) t[i];
        }
        return out;
    }

    private static int[] groups(String s) {
        if (s.isEmpty()) return new int[0];
        String[] parts = s.split(":", -1);
        int n = parts.length;
        boolean v4Tail = parts[n - 1].contains(".");
        int[] out = new int[v4Tail ? n + 1 : n];
        for (int i = 0; i < n; i++) {
            String p = parts[i];
            if (i == n - 1 && v4Tail) {
                byte[] v4 = parseV4(p);
                out[i] = ((v4[0] & 0xff) << 8) | (v4[1] & 0xff);
                out[i + 1] = ((v4[2] & 0xff) << 8) | (v4[3] & 0xff);
                continue;
            }
            if (p.isEmpty() || p.length() > 4) throw new IllegalArgumentException("bad IPv6 group \"" + p + "\"");
            for (char c : p.toCharArray()) {
                if (Character.digit(c, 16) < 0) throw new IllegalArgumentException("bad IPv6 group \"" + p + "\"");
            }
            out[i] = Integer.parseInt(p, 16);
        }
        return out;
    }

    /** RFC 5952 form: the longest run of zero groups becomes {@code ::}. */
    private static String compressV6(String full) {
        String[] g = full.split(":");
        for (int i = 0; i < g.length; i++) g[i] = Integer.toHexString(Integer.parseInt(g[i], 16));
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < g.length; ) {
            if (!g[i].equals("0")) {
                i++;
                continue;
            }
            int j = i;
            while (j < g.length && g[j].equals("0")) j++;
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        if (bestStart < 0) return String.join(":", g);
        String left = String.join(":", java.util.Arrays.copyOfRange(g, 0, bestStart));
        String right = String.join(":", java.util.Arrays.copyOfRange(g, bestStart + bestLen, g.length));
        return left + "::" + right;
    }
}
