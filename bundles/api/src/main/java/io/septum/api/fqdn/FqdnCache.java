package io.septum.api.fqdn;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The DNS names the DNS proxy saw answered, with their addresses ({@code septum fqdn cache list}). The endpoint
 * manager gives each address a CIDR identity carrying an {@code fqdn:NAME} label per name, which {@code toFQDNs}
 * selectors match. Kept across agent restarts, so that connections to those addresses stay allowed.
 */
@ProviderType
public interface FqdnCache {
    /** Every live entry, by name then address. */
    List<FqdnEntry> entries();

    /**
     * Forgets the entries whose name equals {@code name} (case-insensitive, trailing dot ignored), or every entry
     * when it is null; returns how many went. Their addresses lose their {@code toFQDNs} allows at once.
     */
    int clean(String name);

    /** A change counter: it moves whenever entries come or go. */
    long revision();

    /** Called (on the cache's own thread) after each change. */
    void addListener(Runnable listener);

    void removeListener(Runnable listener);
}
