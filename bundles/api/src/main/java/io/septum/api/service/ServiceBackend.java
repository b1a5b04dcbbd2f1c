package io.septum.api.service;

/**
 * One backend of a service.
 *
 * @param target     what the operator gave: an endpoint ({@code namespace/name} or a name in the service's
 *                   namespace) or an IP address
 * @param port       the backend port (the frontend port when the operator gave none)
 * @param ip         the address the target resolved to, null while an endpoint target has none
 * @param state      {@link #ACTIVE} when traffic may go to it, else why not ({@link #NOT_FOUND})
 * @param mac        the backend's link-layer address, which the datapath writes into packets that it redirects
 *                   to the backend on a shared L2 segment; null when unknown (the packet keeps its own)
 */
public record ServiceBackend(String target, int port, String ip, String state, String mac) {
    public static final String ACTIVE = "active";
    /** An endpoint target that does not exist (or has no IPv4 address) at the moment. */
    public static final String NOT_FOUND = "not-found";

    public boolean active() {
        return ACTIVE.equals(state) && ip != null;
    }

    public ServiceBackend withResolution(String newIp, String newState, String newMac) {
        return new ServiceBackend(target, port, newIp, newState, newMac);
    }
}
