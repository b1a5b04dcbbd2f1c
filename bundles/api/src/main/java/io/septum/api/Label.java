package io.septum.api;

import java.util.Objects;

/**
 * One label, {@code source:key=value}. The source tells who set it (k8s, netns, container, reserved, cidr...).
 * A selector key without a source is written with source {@link #ANY} and matches labels of every source.
 */
public record Label(String source, String key, String value) implements Comparable<Label> {
    public static final String ANY = "any";
    public static final String RESERVED = "reserved";
    public static final String K8S = "k8s";
    public static final String CIDR = "cidr";
    /**
     * A name an allowed DNS lookup returned the address for ({@code fqdn:api.example.com}), on the address's CIDR
     * identity; {@code toFQDNs} selectors match it. Since 2.5.
     */
    public static final String FQDN = "fqdn";

    public Label {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(key, "key");
        value = value == null ? "" : value;
        if (key.isEmpty()) throw new IllegalArgumentException("label key is empty");
    }

    /** Parses {@code source:key=value}, {@code key=value} (source {@code any}) or {@code source:key}. */
    public static Label parse(String text) {
        return parse(text, ANY);
    }

    /** Parses a label, using {@code defaultSource} when the text names none. */
    public static Label parse(String text, String defaultSource) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty label");
        String s = text.trim();
        String value = "";
        int eq = s.indexOf('=');
        if (eq >= 0) {
            value = s.substring(eq + 1);
            s = s.substring(0, eq);
        }
        String source = defaultSource;
        int colon = s.indexOf(':');
        // CIDR labels contain ':' in IPv6 keys; only the first ':' before any '/' or digit-run counts
        if (colon > 0) {
            source = s.substring(0, colon);
            s = s.substring(colon + 1);
        }
        return new Label(source, s, value);
    }

    public static Label reserved(String name) {
        return new Label(RESERVED, name, "");
    }

    /** True when this label, used as a selector key, matches {@code other}'s source. */
    public boolean sourceMatches(String otherSource) {
        return ANY.equals(source) || source.equals(otherSource);
    }

    @Override
    public int compareTo(Label o) {
        int c = source.compareTo(o.source);
        if (c != 0) return c;
        c = key.compareTo(o.key);
        return c != 0 ? c : value.compareTo(o.value);
    }

    @Override
    public String toString() {
        return value.isEmpty() && (RESERVED.equals(source) || CIDR.equals(source) || FQDN.equals(source))
                ? source + ":" + key
                : source + ":" + key + "=" + value;
    }
}
