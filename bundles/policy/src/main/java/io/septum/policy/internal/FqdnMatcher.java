package io.septum.policy.internal;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * One DNS name selector, as Cilium reads {@code toFQDNs} entries and {@code rules.dns} entries: {@code matchName} is
 * one exact name, {@code matchPattern} a name in which {@code *} stands for any run (empty too) of the characters a
 * DNS label may hold ({@code [-a-zA-Z0-9_]}), so {@code *.example.com} matches {@code api.example.com} but neither
 * {@code example.com} nor {@code a.b.example.com}; a lone {@code *} matches every name. Both compare
 * case-insensitively and ignore the trailing dot of a fully qualified name.
 *
 * @param text    the name or pattern as written
 * @param pattern whether it is a {@code matchPattern}
 */
record FqdnMatcher(String text, boolean pattern, Pattern regex) {
    /** Characters a DNS label may hold, as Cilium's validation allows them. */
    private static final String LABEL_CHAR = "[-a-z0-9_]";
    // one way to match each input (labels joined by single dots): no backtracking on a long bad name
    private static final Pattern NAME = Pattern.compile("[-a-zA-Z0-9_]+(\\.[-a-zA-Z0-9_]+)*\\.?");
    private static final Pattern PATTERN = Pattern.compile("[-a-zA-Z0-9_*]+(\\.[-a-zA-Z0-9_*]+)*\\.?");
    /** The longest name DNS carries. */
    static final int MAX_LENGTH = 253;

    static FqdnMatcher name(String name) {
        return new FqdnMatcher(name, false, null);
    }

    static FqdnMatcher pattern(String pattern) {
        String p = normalize(pattern);
        if (p.equals("*")) return new FqdnMatcher(pattern, true, null);
        StringBuilder re = new StringBuilder();
        for (char c : p.toCharArray()) {
            if (c == '*') re.append(LABEL_CHAR).append('*');
            else if (c == '.') re.append("\\.");
            else re.append(c);
        }
        return new FqdnMatcher(pattern, true, Pattern.compile(re.toString()));
    }

    /** Why {@code text} is no valid matchName (or matchPattern when {@code pattern}), or null when it is. */
    static String problem(String text, boolean pattern) {
        if (text == null || text.isBlank()) return "is empty";
        if (text.length() > MAX_LENGTH + 1) return "is longer than " + MAX_LENGTH + " characters";
        if (!(pattern ? PATTERN : NAME).matcher(text).matches()) {
            return "\"" + text + "\" is not a DNS name" + (pattern ? " pattern" : "") + ": labels of letters, digits,"
                    + " - and _" + (pattern ? " (and * for any run of them)" : "") + " separated by single dots";
        }
        return null;
    }

    /** Lower case, without the trailing dot. */
    static String normalize(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    boolean matches(String name) {
        if (name == null || name.isEmpty() || name.length() > MAX_LENGTH + 1) return false;
        String n = normalize(name);
        if (!pattern) return n.equals(normalize(text));
        if (regex == null) return !n.isEmpty();
        return regex.matcher(n).matches();
    }

    @Override
    public String toString() {
        return (pattern ? "matchPattern " : "matchName ") + text;
    }
}
