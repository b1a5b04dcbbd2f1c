package io.septum.datapath.ebpf.internal;

import jnr.ffi.Pointer;
import jnr.ffi.types.size_t;

/** The few libc calls the datapath needs: mounting bpffs, opening cgroup directories, and formatting libbpf's printf-style log lines. */
public interface LibC {
    int open(String path, int flags);

    int close(int fd);

    int mount(String source, String target, String fsType, long flags, Pointer data);

    /** On x86-64 (and aarch64) a {@code va_list} argument is passed as a pointer, so it can be handed on as is. */
    int vsnprintf(Pointer buf, @size_t long size, Pointer fmt, Pointer vaList);
}
