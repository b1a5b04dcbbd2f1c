package io.septum.datapath.ebpf.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** IP text ↔ the 16-byte form the maps use (IPv4 as {@code ::ffff:a.b.c.d}). */
public final class Ips {
    private Ips() {
    }

    /** A parsed prefix: 16 address bytes (host bits cleared) and the trie prefix length (IPv4: 96 + len). */
    public record Prefix(byte[] addr, int prefixlen) {
    }

    public static boolean isV4Mapped(byte[] a) {
        for (int i = 0; i < 10; i++) if (a[i] != 0) return false;
        return (a[10] & 0xff) == 0xff && (a[11] & 0xff) == 0xff;
    }

    public static Prefix parsePrefix(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty IP prefix");
        String s = text.trim();
        int slash = s.indexOf('/');
        String ip = slash < 0 ? s : s.substring(0, slash);
        boolean v6 = ip.contains(":");
        if (!v6 && !ip.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            throw new IllegalArgumentException("not an IP prefix: \"" + text + "\" (expected a.b.c.d/len or x:y::z/len)");
        }
        if (v6 && !ip.matches("[0-9a-fA-F:.]+")) {
            throw new IllegalArgumentException("not an IP prefix: \"" + text + "\"");
        }
        byte[] raw;
        try {
            raw = InetAddress.getByName(ip).getAddress(); // a literal: no name lookup happens
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP prefix: \"" + text + "\"", e);
        }
        int max = raw.length * 8;
        int len;
        try {
            len = slash < 0 ? max : Integer.parseInt(s.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad prefix length in \"" + text + "\"");
        }
        if (len < 0 || len > max) throw new IllegalArgumentException("prefix length out of range in \"" + text + "\"");
        byte[] a = new byte[16];
        int plen;
        if (raw.length == 4) {
            a[10] = (byte) 0xff;
            a[11] = (byte) 0xff;
            System.arraycopy(raw, 0, a, 12, 4);
            plen = 96 + len;
        } else {
            System.arraycopy(raw, 0, a, 0, 16);
            plen = len;
        }
        for (int bit = plen; bit < 128; bit++) a[bit / 8] &= (byte) ~(0x80 >> (bit % 8));
        return new Prefix(a, plen);
    }

    public static String formatPrefix(byte[] a, int prefixlen) {
        if (isV4Mapped(a) && prefixlen >= 96) return format(a) + "/" + (prefixlen - 96);
        return format(a) + "/" + prefixlen;
    }

    /** Dotted IPv4 for mapped addresses, otherwise RFC 5952 IPv6 (longest zero run compressed). */
    public static String format(byte[] a) {
        if (isV4Mapped(a)) return (a[12] & 0xff) + "." + (a[13] & 0xff) + "." + (a[14] & 0xff) + "." + (a[15] & 0xff);
        int[] w = new int[8];
        for (int i = 0; i < 8; i++) w[i] = ((a[2 * i] & 0xff) << 8) | (a[2 * i + 1] & 0xff);
        int bestStart = -1, bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (w[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && w[j] == 0) j++;
            if (j - i > bestLen && j - i >= 2) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') sb.append(':');
            sb.append(Integer.toHexString(w[i]));
        }
        return sb.toString();
    }
}
