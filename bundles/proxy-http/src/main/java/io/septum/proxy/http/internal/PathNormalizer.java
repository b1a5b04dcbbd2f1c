package io.septum.proxy.http.internal;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * RFC 3986 normalization of a request path, so that the rule's regular expression and the upstream server see one
 * and the same path: percent-encoded unreserved characters are decoded ({@code %2e} is {@code .}), other
 * percent-encodings get upper-case hex, empty segments ({@code //}) collapse, and {@code .}/{@code ..} segments are
 * resolved ({@code ..} never climbs above the root). The proxy forwards the normalized path, never the raw one.
 *
 * <p>What servers disagree about is refused ({@link BadPathException}, answered with 400): an encoded slash
 * ({@code %2F}), backslash ({@code %5C}) or NUL, a raw backslash, control or non-ASCII characters, malformed
 * percent-encodings, a fragment, and dot segments hidden behind path parameters ({@code ..;x}), which some servers
 * resolve and others do not.
 */
final class PathNormalizer {
    static final class BadPathException extends Exception {
        BadPathException(String message) {
            super(message);
        }
    }

    private PathNormalizer() {
    }

    /** {@code path} is the request target's path, without the query string. */
    static String normalize(String path) throws BadPathException {
        if (path == null || path.isEmpty() || path.charAt(0) != '/') {
            throw new BadPathException("the path must start with '/'");
        }
        StringBuilder decoded = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '%') {
                if (i + 2 >= path.length()) throw new BadPathException("truncated percent-encoding at offset " + i);
                int hi = Character.digit(path.charAt(i + 1), 16);
                int lo = Character.digit(path.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) throw new BadPathException("invalid percent-encoding at offset " + i);
                char d = (char) (hi * 16 + lo);
                if (d == '/' || d == '\\') throw new BadPathException("encoded '" + d + "' in the path");
                if (d < 0x20 || d == 0x7f) throw new BadPathException("encoded control character in the path");
                if (unreserved(d)) {
                    decoded.append(d);
                } else {
                    decoded.append('%').append(Character.toUpperCase(path.charAt(i + 1)))
                            .append(Character.toUpperCase(path.charAt(i + 2)));
                }
                i += 2;
            } else if (c == '\\') {
                throw new BadPathException("backslash in the path");
            } else if (c == '#') {
                throw new BadPathException("fragment in the request target");
            } else if (c <= 0x20 || c >= 0x7f) {
                throw new BadPathException("control, space or non-ASCII character in the path");
            } else {
                decoded.append(c);
            }
        }
        Deque<String> out = new ArrayDeque<>();
        String[] segments = decoded.toString().split("/", -1);
        boolean trailingSlash = false;
        for (int i = 1; i < segments.length; i++) {
            String s = segments[i];
            boolean last = i == segments.length - 1;
            int semi = s.indexOf(';');
            String bare = semi >= 0 ? s.substring(0, semi) : s;
            if (semi >= 0 && (bare.equals(".") || bare.equals(".."))) {
                throw new BadPathException("dot segment with parameters ('" + s + "') in the path");
            }
            if (s.isEmpty() || s.equals(".")) {
                trailingSlash = last;
            } else if (s.equals("..")) {
                out.pollLast();
                trailingSlash = last;
            } else {
                out.addLast(s);
                trailingSlash = false;
            }
        }
        StringBuilder sb = new StringBuilder(decoded.length());
        for (String s : out) sb.append('/').append(s);
        if (sb.length() == 0 || trailingSlash) sb.append('/');
        return sb.toString();
    }

    private static boolean unreserved(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '-' || c == '.' || c == '_' || c == '~';
    }
}
