package io.septum.datapath.ebpf.internal;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The few libc calls the datapath needs: mounting bpffs, opening cgroup directories, formatting libbpf's printf-style
 * log lines, tc's rtnetlink requests ({@link TcNetlink}), and mapping the policy epoch's page.
 */
public interface LibC {
    int open(String path, int flags);

    int close(int fd);

    int mount(String source, String target, String fsType, long flags, Pointer data);

    /** On x86-64 (and aarch64) a {@code va_list} argument is passed as a pointer, so it can be handed on as is. */
    int vsnprintf(Pointer buf, @size_t long size, Pointer fmt, Pointer vaList);

    int socket(int domain, int type, int protocol);

    int setsockopt(int fd, int level, int name, @In byte[] value, int length);

    @ssize_t long send(int fd, @In byte[] buf, @size_t long length, int flags);

    @ssize_t long recv(int fd, @Out byte[] buf, @size_t long length, int flags);

    /** MAP_FAILED is the address -1. For the policy epoch's shared page ({@link PolicyEpoch}). */
    Pointer mmap(Pointer addr, @size_t long length, int prot, int flags, int fd, long offset);

    int munmap(Pointer addr, @size_t long length);
}
