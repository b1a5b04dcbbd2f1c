package io.septum.endpoints.internal;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/** IP literal checks that never resolve a name: a source's address must never cause a DNS query. */
final class IpAddresses {
    private static final Pattern V6_CHARS = Pattern.compile("[0-9A-Fa-f:.]+");

    private IpAddresses() {
    }

    /** The address without a prefix length, canonical, or null when it is not an IP literal. */
    static String parse(String text) {
        if (text == null) return null;
        String s = text.trim();
        int slash = s.indexOf('/');
        if (slash >= 0) s = s.substring(0, slash);
        if (isCanonicalV4(s)) return s;
        if (s.contains(":") && V6_CHARS.matcher(s).matches()) {
            try {
                return canonical(s);
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
        return null;
    }

    /**
     * Dotted quad in canonical form: four parts 0-255 without leading zeros. By hand, not a regex: every remote
     * endpoint's address passes here on each regeneration pass (ten thousand in a large cluster).
     */
    static boolean isCanonicalV4(String s) {
        int parts = 0, value = 0, digits = 0;
        boolean leadingZero = false;
        for (int i = 0; i <= s.length(); i++) {
            char c = i == s.length() ? '.' : s.charAt(i);
            if (c == '.') {
                if (digits == 0 || ++parts > 4) return false;
                value = 0;
                digits = 0;
                leadingZero = false;
            } else if (c >= '0' && c <= '9') {
                if (leadingZero || ++digits > 3) return false;
                if (digits == 1 && c == '0') leadingZero = true;
                value = value * 10 + (c - '0');
                if (value > 255) return false;
            } else {
                return false;
            }
        }
        return parts == 4;
    }

    static String canonical(String v6) {
        try {
            // Only hex digits, ':' and '.' reach here, so this parses a literal and never looks anything up.
            InetAddress a = InetAddress.getByName(v6);
            if (!(a instanceof Inet6Address)) return a.getHostAddress();
            return compress(a.getHostAddress());
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IPv6 address: " + v6);
        }
    }

    /** RFC 5952 form: the longest run of zero groups becomes "::". */
    private static String compress(String full) {
        String[] g = full.split(":");
        StringBuilder sb = new StringBuilder();
        int bestStart = -1, bestLen = 0;
        for (int i = 0; i < g.length; ) {
            if (Integer.parseInt(g[i], 16) == 0) {
                int j = i;
                while (j < g.length && Integer.parseInt(g[j], 16) == 0) j++;
                if (j - i > bestLen && j - i > 1) {
                    bestStart = i;
                    bestLen = j - i;
                }
                i = j;
            } else {
                i++;
            }
        }
        for (int i = 0; i < g.length; i++) {
            if (i == bestStart) {
                sb.append(i == 0 ? "::" : ":");
                i += bestLen - 1;
                continue;
            }
            sb.append(Integer.toHexString(Integer.parseInt(g[i], 16)));
            if (i < g.length - 1) sb.append(':');
        }
        return sb.toString();
    }

    /** 169.254/16 and fe80::/10: every interface has them, so they say nothing about who sent a packet. */
    static boolean isLinkLocal(String ip) {
        String s = ip.toLowerCase(java.util.Locale.ROOT);
        return s.startsWith("169.254.") || s.matches("fe[89ab][0-9a-f]?:.*");
    }

    static boolean isV6(String ip) {
        return ip.contains(":");
    }

    /** The host prefix of an address: {@code /32} or {@code /128}. */
    static String hostPrefix(String ip) {
        return ip + (isV6(ip) ? "/128" : "/32");
    }

    /** A CIDR as policies name it, with a prefix length always. */
    static String normalizePrefix(String cidr) {
        String s = cidr.trim();
        if (s.indexOf('/') < 0) return hostPrefix(s);
        return s;
    }
}
