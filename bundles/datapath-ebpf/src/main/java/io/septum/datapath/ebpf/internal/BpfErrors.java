package io.septum.datapath.ebpf.internal;

/** errno values as the datapath's messages name them, with what usually causes them. */
final class BpfErrors {
    private BpfErrors() {
    }

    static String errno(int e) {
        return switch (e) {
            case 1 -> "EPERM (need root: CAP_SYS_ADMIN/CAP_BPF and CAP_NET_ADMIN)";
            case 2 -> "ENOENT";
            case 7 -> "E2BIG (map full)";
            case 9 -> "EBADF";
            case 12 -> "ENOMEM";
            case 13 -> "EACCES (verifier rejected the program)";
            case 16 -> "EBUSY";
            case 17 -> "EEXIST";
            case 19 -> "ENODEV (no such interface)";
            case 22 -> "EINVAL";
            case 28 -> "ENOSPC (map full)";
            case 95 -> "EOPNOTSUPP";
            default -> "errno " + e;
        };
    }
}
