package io.septum.api.datapath;

/** Drop reasons, with Cilium's codes where Cilium has one, so that Hubble users recognise them. */
public enum DropReason {
    NONE(0, "None"),
    INVALID_PACKET(134, "Invalid packet"),
    POLICY_DENIED(133, "Policy denied"),
    CT_UNKNOWN(137, "Unknown connection tracking state"),
    UNSUPPORTED_L3(139, "Unsupported L3 protocol"),
    NO_SERVICE(158, "Service backend not found"),
    POLICY_DENY(181, "Policy denied by denylist"),
    PROXY_UNAVAILABLE(183, "Proxy redirection not supported");

    private final int code;
    private final String description;

    DropReason(int code, String description) {
        this.code = code;
        this.description = description;
    }

    public int code() {
        return code;
    }

    /** values() copies the array on every call: once per flow, on the flow path. */
    private static final DropReason[] ALL = values();

    public String description() {
        return description;
    }

    public static DropReason byCode(int code) {
        for (DropReason r : ALL) if (r.code == code) return r;
        return NONE;
    }
}
