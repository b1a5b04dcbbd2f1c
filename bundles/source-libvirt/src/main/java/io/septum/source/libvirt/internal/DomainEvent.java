package io.septum.source.libvirt.internal;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One domain event as {@code virsh event --all --loop --timestamp} prints it, for example
 * {@code 2026-11-27 08:48:01.256+0000: event 'lifecycle' for domain 'web': Started Booted}.
 *
 * <p>The line is virsh's human output, not an interface, so the parser accepts only what it recognises and returns
 * nothing for the rest (continuation lines of multi-line events, {@code events received: N}, error messages); the
 * child runs with {@code LC_ALL=C} so the words are never translated. A domain name may itself contain a quote, so
 * the name is what lies between {@code for domain '} and the last quote before the detail; for lifecycle events the
 * detail (event word, then reason such as {@code Booted} or {@code I/O Error}) has no quote, which makes that split
 * exact. For other kinds it is a best effort and
 * {@link #exact} says so: a caller that does not find the domain by that name lists them all instead.
 *
 * @param kind   the event kind: {@code lifecycle}, {@code metadata-change}, {@code device-added}, ...
 * @param domain the domain's name
 * @param detail what follows the name (for lifecycle: event and reason, e.g. {@code Stopped Destroyed}), or ""
 * @param exact  whether the name could be told from the detail without guessing
 */
record DomainEvent(String kind, String domain, String detail, boolean exact) {
    /** The optional timestamp virsh prints with {@code --timestamp}; UTC, milliseconds. */
    private static final String STAMP = "(?:\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{3}\\+0000: )?";
    private static final Pattern LIFECYCLE = Pattern.compile(
            "^" + STAMP + "event 'lifecycle' for domain '(.+)': ([A-Za-z]+) ([^']+)$");
    private static final Pattern ANY = Pattern.compile(
            "^" + STAMP + "event '([a-z][a-z0-9-]*)' for domain '(.+?)'(?:(?::| disk) (.*)|:)?$");
    private static final Pattern ANY_GREEDY = Pattern.compile(
            "^" + STAMP + "event '([a-z][a-z0-9-]*)' for domain '(.+)'(?:(?::| disk) (.*)|:)?$");

    static final String LIFECYCLE_KIND = "lifecycle";

    /** The event on this line, or empty if the line is not the first line of a domain event. */
    static Optional<DomainEvent> parse(String line) {
        if (line == null) return Optional.empty();
        // virsh ends lines with \n; tolerate \r and trailing blanks from anything in between.
        String l = line.strip();
        if (l.isEmpty() || l.length() > 4096) return Optional.empty();
        Matcher m = LIFECYCLE.matcher(l);
        if (m.matches()) return Optional.of(new DomainEvent(LIFECYCLE_KIND, m.group(1), m.group(2) + " " + m.group(3), true));
        Matcher lazy = ANY.matcher(l);
        if (!lazy.matches()) return Optional.empty();
        Matcher greedy = ANY_GREEDY.matcher(l);
        // Both readings agree unless a quote appears after the name: then the name is a guess.
        boolean exact = greedy.matches() && greedy.group(2).equals(lazy.group(2));
        String detail = lazy.group(3) == null ? "" : lazy.group(3);
        return Optional.of(new DomainEvent(lazy.group(1), lazy.group(2), detail, exact));
    }

    /** Whether this event may change what the domain is as an endpoint (running, labels, interfaces). */
    boolean relevant() {
        return switch (kind) {
            case LIFECYCLE_KIND, "metadata-change", "device-added", "device-removed", "reboot" -> true;
            default -> false;
        };
    }
}
