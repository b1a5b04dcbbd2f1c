package io.septum.api;

import java.util.List;

/**
 * What changed among the remote endpoints since a version a consumer already holds, so that one change among ten
 * thousand costs the consumer one entry rather than the whole list ({@link RemoteEndpoints#changesSince}).
 *
 * @param version  the version these changes bring the consumer to: pass it to the next {@code changesSince}
 * @param full     {@code upserted} is every remote endpoint (the consumer forgets what it held; {@code removed} is
 *                 empty): the consumer was too far behind, or asked with a version this view never gave
 * @param upserted endpoints added or changed (when not {@code full}: at most one per address), sorted by address
 * @param removed  addresses that have no remote endpoint any more
 * @since 2.4
 */
public record RemoteEndpointChanges(long version, boolean full, List<RemoteEndpoint> upserted, List<String> removed) {
    public RemoteEndpointChanges {
        upserted = List.copyOf(upserted);
        removed = List.copyOf(removed);
    }

    /** Everything at {@code version}: the consumer replaces what it held. */
    public static RemoteEndpointChanges everything(long version, List<RemoteEndpoint> all) {
        return new RemoteEndpointChanges(version, true, all, List.of());
    }

    /** Whether applying these changes changes nothing. */
    public boolean isEmpty() {
        return !full && upserted.isEmpty() && removed.isEmpty();
    }
}
