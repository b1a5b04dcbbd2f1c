package io.septum.datapath.ebpf.internal;

import io.septum.api.datapath.DatapathException;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/** What the kernel says of a map or program fd ({@code bpf_obj_get_info_by_fd}): the fields the datapath reads. */
final class ObjInfo {
    /** struct bpf_map_info: __u32 type, id, key_size, value_size, max_entries, map_flags; char name[16]. */
    record Map(long type, long id, long keySize, long valueSize, long maxEntries, long flags, String name) {
        /** What libbpf compares when it reuses a pin (besides BTF): the same means a pin an object can take. */
        boolean sameShape(Map o) {
            return type == o.type && keySize == o.keySize && valueSize == o.valueSize && maxEntries == o.maxEntries
                    && flags == o.flags;
        }
    }

    /** A program's name (as the kernel keeps it: 15 characters at most) and the ids of the maps it uses. */
    record Prog(String name, long[] mapIds) {
    }

    /** struct bpf_prog_info: the count of map ids at 52, the pointer to fill with them at 56, char name[16] at 64. */
    private static final int PROG_NR_MAP_IDS = 52, PROG_MAP_IDS = 56, PROG_NAME = 64, PROG_READ = 80;
    private static final int MAP_READ = 40, MAP_NAME = 24, NAME_LEN = 16;

    private ObjInfo() {
    }

    static Map map(LibBpf lib, Runtime runtime, int fd, String what) throws DatapathException {
        Pointer info = get(lib, runtime, fd, MAP_READ, null, what);
        return new Map(u32(info, 0), u32(info, 4), u32(info, 8), u32(info, 12), u32(info, 16), u32(info, 20),
                name(info, MAP_NAME));
    }

    static Prog prog(LibBpf lib, Runtime runtime, int fd, String what) throws DatapathException {
        Pointer first = get(lib, runtime, fd, PROG_READ, null, what);
        int n = (int) u32(first, PROG_NR_MAP_IDS);
        if (n == 0) return new Prog(name(first, PROG_NAME), new long[0]);
        Pointer ids = runtime.getMemoryManager().allocateDirect(4L * n, true);
        Pointer info = get(lib, runtime, fd, PROG_READ, info2 -> {
            info2.putInt(PROG_NR_MAP_IDS, n);
            info2.putLong(PROG_MAP_IDS, ids.address());
        }, what);
        int filled = (int) Math.min(n, u32(info, PROG_NR_MAP_IDS));
        long[] out = new long[filled];
        for (int i = 0; i < filled; i++) out[i] = Integer.toUnsignedLong(ids.getInt(4L * i));
        return new Prog(name(info, PROG_NAME), out);
    }

    private static String name(Pointer info, int off) {
        byte[] name = new byte[NAME_LEN];
        info.get(off, name, 0, NAME_LEN);
        int end = 0;
        while (end < NAME_LEN && name[end] != 0) end++;
        return new String(name, 0, end, java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static Pointer get(LibBpf lib, Runtime runtime, int fd, int size, java.util.function.Consumer<Pointer> ask,
            String what) throws DatapathException {
        Pointer info = runtime.getMemoryManager().allocateDirect(size, true);
        Pointer len = runtime.getMemoryManager().allocateDirect(4, true);
        len.putInt(0, size);
        if (ask != null) ask.accept(info);
        int rc = lib.bpf_obj_get_info_by_fd(fd, info, len);
        if (rc < 0) throw new DatapathException("cannot read what " + what + " is: " + BpfErrors.errno(-rc));
        return info;
    }

    private static long u32(Pointer p, int off) {
        return Integer.toUnsignedLong(p.getInt(off));
    }
}
