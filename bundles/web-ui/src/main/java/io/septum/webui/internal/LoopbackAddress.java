package io.septum.webui.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * The UI has no authentication: it listens on loopback addresses only. A configured address is read without a
 * DNS lookup (a name that resolves elsewhere tomorrow must not open the UI to the network).
 */
final class LoopbackAddress {
    private LoopbackAddress() {
    }

    /** The loopback address that {@code text} names, or an {@link IllegalArgumentException} that says why not. */
    static InetAddress parse(String text) {
        String s = text == null ? "" : text.strip();
        if (s.isEmpty() || s.equalsIgnoreCase("localhost")) return InetAddress.getLoopbackAddress();
        if (s.startsWith("[") && s.endsWith("]")) s = s.substring(1, s.length() - 1);
        boolean literal = s.matches("[0-9.]+") || (s.contains(":") && s.matches("[0-9a-fA-F:.]+"));
        if (!literal) {
            throw new IllegalArgumentException("address \"" + text + "\" is not an IP address; the web UI listens on a "
                    + "loopback address only (127.0.0.1, ::1 or localhost)");
        }
        InetAddress a;
        try {
            a = InetAddress.getByName(s); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("address \"" + text + "\" is not a valid IP address");
        }
        if (!a.isLoopbackAddress()) {
            throw new IllegalArgumentException("address " + text + " is not a loopback address: the web UI has no "
                    + "authentication and listens on loopback only (127.0.0.0/8 or ::1); reach it from elsewhere "
                    + "through an SSH tunnel");
        }
        return a;
    }

    /**
     * Whether a request's {@code Host} header names this server: a loopback literal or {@code localhost}. A page
     * of another site that rebinds its DNS name to 127.0.0.1 sends its own name, and is refused.
     */
    static boolean hostAllowed(String hostHeader) {
        if (hostHeader == null || hostHeader.isBlank()) return false;
        String h = hostHeader.strip();
        String host;
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            if (end < 0) return false;
            host = h.substring(1, end);
        } else {
            int colon = h.lastIndexOf(':');
            host = colon >= 0 ? h.substring(0, colon) : h;
        }
        if (host.equalsIgnoreCase("localhost")) return true;
        try {
            parse(host);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
