package io.septum.api;

import java.util.Arrays;
import java.util.Optional;

/** Reserved identities, with Cilium's numbers. Allocated identities start at {@link #FIRST_ALLOCATED}. */
public enum ReservedIdentity {
    HOST(1, "host"),
    WORLD(2, "world"),
    UNMANAGED(3, "unmanaged"),
    HEALTH(4, "health"),
    INIT(5, "init"),
    REMOTE_NODE(6, "remote-node"),
    KUBE_APISERVER(7, "kube-apiserver"),
    INGRESS(8, "ingress"),
    WORLD_IPV4(9, "world-ipv4"),
    WORLD_IPV6(10, "world-ipv6");

    /** First number handed out for a label set of endpoints (Cilium's cluster-local range starts here). */
    public static final long FIRST_ALLOCATED = 256;
    /** Last number of the cluster range; local (CIDR) identities follow. */
    public static final long LAST_ALLOCATED = 65535;
    /** First number of node-local identities, as Cilium uses for CIDR identities. */
    public static final long FIRST_LOCAL = 1L << 24;

    private final long id;
    private final String label;

    ReservedIdentity(long id, String label) {
        this.id = id;
        this.label = label;
    }

    public long id() {
        return id;
    }

    /** The label name after {@code reserved:}. */
    public String labelName() {
        return label;
    }

    public Labels labels() {
        return Labels.of(Label.reserved(label));
    }

    public Identity identity() {
        return new Identity(id, labels().asStrings(), true);
    }

    public static Optional<ReservedIdentity> byId(long id) {
        return Arrays.stream(values()).filter(r -> r.id == id).findFirst();
    }

    public static Optional<ReservedIdentity> byName(String name) {
        return Arrays.stream(values()).filter(r -> r.label.equals(name)).findFirst();
    }

    /**
     * The reserved identity a label set stands for: exactly one known {@code reserved:<name>} label with no value.
     * Allocators answer such a set with the reserved number instead of allocating one.
     */
    public static Optional<ReservedIdentity> of(Labels labels) {
        if (labels.size() != 1) return Optional.empty();
        Label l = labels.asList().get(0);
        if (!Label.RESERVED.equals(l.source()) || !l.value().isEmpty()) return Optional.empty();
        return byName(l.key());
    }

    /**
     * Whether a label set gets a node-local number (from {@link #FIRST_LOCAL}), as Cilium gives CIDR identities:
     * it has {@code cidr:} labels and nothing else but perhaps {@code reserved:world}. Such numbers are never shared
     * with other nodes.
     */
    public static boolean isNodeLocal(Labels labels) {
        boolean cidr = false;
        for (Label l : labels) {
            if (Label.CIDR.equals(l.source())) cidr = true;
            else if (!(Label.RESERVED.equals(l.source()) && WORLD.label.equals(l.key()))) return false;
        }
        return cidr;
    }
}
