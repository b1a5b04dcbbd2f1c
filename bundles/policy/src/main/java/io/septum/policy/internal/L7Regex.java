package io.septum.policy.internal;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;

/**
 * A regular expression of an L7 rule ({@code rules.http[].method}, {@code path}, {@code host}), the one type every
 * L7 pattern of a policy is compiled into. Cilium reads these with Go's {@code regexp} (RE2 syntax) and Envoy
 * matches them with RE2 against the whole value; this uses RE2/J, a port of Go's package, so the same patterns are
 * accepted and refused and a match costs time linear in the input, whatever the pattern. {@code java.util.regex}
 * was used before: it backtracks, so one crafted request could keep the proxy busy for seconds per pattern.
 *
 * <p>RE2/J lacks two limits Go's parser has, and without them a pattern in an imported policy could exhaust the
 * agent's heap or stack while it compiles: {@code ((a{1000}){1000}){1000}} asks for a billion instructions, and
 * 5000 nested groups overflow RE2/J's recursive parser. {@link #compile} checks both on the text first: nesting
 * deeper than Go's 1000, or more than {@link #MAX_PROGRAM} instructions by a cheap upper-bound count (far below
 * Go's 3.3 million, which would take hundreds of MB here and make every match of a long path slow; Envoy, which
 * matches for Cilium, refuses an RE2 program size over 100 by default).
 */
final class L7Regex {
    /** Go's {@code maxHeight}: groups inside groups. */
    static final int MAX_NESTING = 1000;
    /**
     * Upper bound of compiled instructions ({@code (a{100}){9}} is about 920, {@code (a{100}){10}} too much). A match
     * costs time linear in the input, times the program's size: with 1000 instructions a 16 KiB path (the proxy's
     * header limit) took 18-141 ms on a loaded 2-vCPU machine, with 10 000 about 3 s.
     */
    static final long MAX_PROGRAM = 1000;

    private final String source;
    private final Pattern pattern;

    private L7Regex(String source, Pattern pattern) {
        this.source = source;
        this.pattern = pattern;
    }

    /** Why a pattern is refused: RE2's reason, with a hint when it is a Java-only construct. */
    static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;

        Invalid(String reason) {
            super(reason);
        }
    }

    /** Compiles {@code source} with RE2 syntax (Go's {@code regexp.Compile}, Perl flags). */
    static L7Regex compile(String source) throws Invalid {
        String tooBig = tooBig(source);
        if (tooBig != null) throw new Invalid(tooBig);
        try {
            return new L7Regex(source, Pattern.compile(source));
        } catch (PatternSyntaxException e) {
            String fragment = e.getPattern();
            String hint = hint(fragment);
            throw new Invalid(e.getDescription() + ": `" + fragment + "`" + (hint == null ? "" : " (" + hint + ")"));
        }
    }

    /** Whether the whole of {@code value} matches, as Cilium's Envoy filter matches {@code :path} and method. */
    boolean matchesWhole(CharSequence value) {
        return pattern.matcher(value).matches();
    }

    /** The pattern as the policy wrote it. */
    String source() {
        return source;
    }

    @Override
    public String toString() {
        return source;
    }

    /** Names the Java regex habit behind an RE2 refusal, so the user knows what to write instead. */
    private static String hint(String fragment) {
        if (fragment == null) return null;
        if (fragment.startsWith("(?=") || fragment.startsWith("(?!") || fragment.startsWith("(?<=")
                || fragment.startsWith("(?<!")) {
            return "RE2, Cilium's regex syntax, has no lookahead or lookbehind";
        }
        if (fragment.startsWith("(?>")) return "RE2, Cilium's regex syntax, has no atomic groups";
        int n = fragment.length();
        if (n >= 2 && fragment.charAt(0) == '\\' && "123456789k".indexOf(fragment.charAt(1)) >= 0) {
            return "RE2, Cilium's regex syntax, has no backreferences";
        }
        if (n >= 2 && fragment.endsWith("+") && "*+?}".indexOf(fragment.charAt(n - 2)) >= 0) {
            return "RE2, Cilium's regex syntax, has no possessive quantifiers: drop the last +";
        }
        if (fragment.equals("\\Z")) return "RE2 writes the end of the text \\z";
        return null;
    }

    /**
     * Null when the pattern is small enough to compile, else why not. Counts, without parsing fully, one
     * instruction per literal, class, escape, operator and group, counted repetitions multiplying what they
     * repeat; that over-estimates RE2's program a little, never under-estimates it. Syntax errors are left to
     * RE2/J.
     */
    static String tooBig(String re) {
        long[] size = new long[MAX_NESTING + 2];
        long[] last = new long[MAX_NESTING + 2];
        int depth = 0;
        int n = re.length();
        int i = 0;
        while (i < n) {
            char c = re.charAt(i);
            long atom;
            switch (c) {
                case '\\' -> {
                    if (i + 1 >= n) {
                        i++;
                        atom = 1;
                    } else if (re.charAt(i + 1) == 'Q') {
                        int end = re.indexOf("\\E", i + 2);
                        int stop = end < 0 ? n : end;
                        long literals = re.codePointCount(i + 2, stop);
                        size[depth] = capped(size[depth] + literals);
                        last[depth] = literals > 0 ? 1 : 0; // a quantifier after \Q..\E repeats its last character
                        i = end < 0 ? n : end + 2;
                        if (size[depth] > MAX_PROGRAM) return tooLarge();
                        continue;
                    } else if ("xpP".indexOf(re.charAt(i + 1)) >= 0 && i + 2 < n && re.charAt(i + 2) == '{') {
                        int close = re.indexOf('}', i + 3);
                        i = close < 0 ? n : close + 1;
                        atom = 1;
                    } else {
                        i += re.charAt(i + 1) == 'p' || re.charAt(i + 1) == 'P' ? 3 : 2;
                        atom = 1;
                    }
                }
                case '[' -> {
                    i = endOfClass(re, i);
                    atom = 1;
                }
                case '(' -> {
                    if (i + 1 < n && re.charAt(i + 1) == '?') {
                        int j = i + 2;
                        while (j < n && ":)>".indexOf(re.charAt(j)) < 0) j++;
                        if (j >= n || re.charAt(j) == ')') { // flags only, (?i): no group
                            i = j + 1;
                            continue;
                        }
                        i = j + 1;
                    } else {
                        i++;
                    }
                    if (++depth > MAX_NESTING) {
                        return "expression nests too deeply: more than " + MAX_NESTING + " groups inside each other";
                    }
                    size[depth] = 0;
                    last[depth] = 0;
                    continue;
                }
                case ')' -> {
                    i++;
                    if (depth == 0) {
                        atom = 1; // unbalanced: RE2/J says so
                    } else {
                        atom = capped(size[depth] + 2);
                        depth--;
                    }
                }
                case '|' -> {
                    size[depth] = capped(size[depth] + 1);
                    last[depth] = 0;
                    i++;
                    continue;
                }
                case '*', '+', '?' -> {
                    size[depth] = capped(size[depth] + 1);
                    last[depth] = capped(last[depth] + 1);
                    i++;
                    if (size[depth] > MAX_PROGRAM) return tooLarge();
                    continue;
                }
                case '{' -> {
                    int[] rep = repeat(re, i);
                    if (rep != null) {
                        // over 1000 RE2 refuses the count itself, with its own message: no need to count it
                        long grown = capped(last[depth] * (rep[0] > 1000 ? 1 : Math.max(1, rep[0])));
                        size[depth] = capped(size[depth] - last[depth] + grown);
                        last[depth] = grown;
                        i = rep[1];
                        if (size[depth] > MAX_PROGRAM) return tooLarge();
                        continue;
                    }
                    i++;
                    atom = 1; // a brace that is no repetition is a literal in RE2
                }
                default -> {
                    i += Character.charCount(re.codePointAt(i));
                    atom = 1;
                }
            }
            size[depth] = capped(size[depth] + atom);
            last[depth] = atom;
            if (size[depth] > MAX_PROGRAM) return tooLarge();
        }
        long total = 0;
        for (int d = 0; d <= depth; d++) total = capped(total + size[d]);
        return total > MAX_PROGRAM ? tooLarge() : null;
    }

    private static String tooLarge() {
        return "expression too large: RE2 would compile it into more than " + MAX_PROGRAM
                + " instructions (counted repetitions multiply what they repeat: (a{100}){10} is over 1000)";
    }

    private static long capped(long v) {
        return Math.min(v, MAX_PROGRAM + 1);
    }

    /** The index after the character class that starts at {@code start} ({@code [}), or the end of the text. */
    private static int endOfClass(String re, int start) {
        int n = re.length();
        int i = start + 1;
        if (i < n && re.charAt(i) == '^') i++;
        if (i < n && re.charAt(i) == ']') i++; // a ] right after [ or [^ is a literal
        while (i < n) {
            char c = re.charAt(i);
            if (c == ']') return i + 1;
            if (c == '\\') {
                i += 2;
            } else if (c == '[' && i + 1 < n && re.charAt(i + 1) == ':') {
                int close = re.indexOf(":]", i + 2);
                i = close < 0 ? i + 1 : close + 2;
            } else {
                i++;
            }
        }
        return n;
    }

    /**
     * A counted repetition at {@code start} ({@code {n}}, {@code {n,}}, {@code {n,m}}): how many copies RE2 makes
     * at most (capped past 1000, which RE2 refuses anyway) and the index after it; null when the brace is a literal.
     */
    private static int[] repeat(String re, int start) {
        int n = re.length();
        int i = start + 1;
        int lo = 0;
        int digits = 0;
        while (i < n && Character.isDigit(re.charAt(i)) && re.charAt(i) < 128) {
            lo = Math.min(lo * 10 + (re.charAt(i) - '0'), 1001);
            i++;
            digits++;
        }
        if (digits == 0 || i >= n) return null;
        if (re.charAt(i) == '}') return new int[] {lo, i + 1};
        if (re.charAt(i) != ',') return null;
        i++;
        int hi = 0;
        digits = 0;
        while (i < n && Character.isDigit(re.charAt(i)) && re.charAt(i) < 128) {
            hi = Math.min(hi * 10 + (re.charAt(i) - '0'), 1001);
            i++;
            digits++;
        }
        if (i >= n || re.charAt(i) != '}') return null;
        return new int[] {digits == 0 ? lo + 1 : Math.max(lo, hi), i + 1};
    }
}
