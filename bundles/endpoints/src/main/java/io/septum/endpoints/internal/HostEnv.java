package io.septum.endpoints.internal;

import java.io.IOException;
import java.util.List;

/** What the manager asks of the host it runs on; separate so that orchestration tests need no real interfaces. */
interface HostEnv {
    /** The interface's index in the host's network namespace. */
    int ifindex(String interfaceName) throws IOException;

    /** The host's own IP addresses (they map to {@code reserved:host}). */
    List<String> hostAddresses();
}
