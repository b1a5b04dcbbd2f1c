package io.septum.api.datapath;

/** One entry of the endpoints map, as {@code bpf endpoint list} prints it. */
public record BpfEndpoint(int ifindex, long endpointId, long identity, int flags, String interfaceName) {
    public static final int FLAG_INGRESS_ENFORCED = 1;
    public static final int FLAG_EGRESS_ENFORCED = 2;
    public static final int FLAG_AUDIT = 4;
    /** The host itself on one of its interfaces (the host firewall). Since 1.5. */
    public static final int FLAG_HOST = 8;
}
