package io.septum.datapath.ebpf.internal;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.Delegate;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.size_t;

/**
 * The part of the system libbpf (Debian {@code libbpf1} 1.1) that the datapath uses. Integer functions return
 * {@code -errno}; pointer functions return NULL and set errno (read it with {@code LastError}).
 */
public interface LibBpf {
    long BPF_ANY = 0;
    long BPF_NOEXIST = 1;
    long BPF_EXIST = 2;

    Pointer bpf_object__open_mem(Pointer objBuf, @size_t long size, Pointer opts);

    int bpf_object__load(Pointer obj);

    void bpf_object__close(Pointer obj);

    Pointer bpf_object__find_map_by_name(Pointer obj, String name);

    int bpf_map__set_pin_path(Pointer map, String path);

    int bpf_map__fd(Pointer map);

    /** The number of entries the map holds at most, as the object defines it. */
    int bpf_map__max_entries(Pointer map);

    /** The key size the object defines for the map (0 for a ring buffer). */
    int bpf_map__key_size(Pointer map);

    /** The map's type (enum bpf_map_type) as the object defines it. */
    int bpf_map__type(Pointer map);

    /** The map's flags (BPF_F_*) as the object defines them. */
    int bpf_map__map_flags(Pointer map);

    /** The value size the object defines for the map (one CPU's share for per-CPU maps; 0 for a ring buffer). */
    int bpf_map__value_size(Pointer map);

    Pointer bpf_object__find_program_by_name(Pointer obj, String name);

    int bpf_program__fd(Pointer prog);

    int bpf_map_update_elem(int fd, @In byte[] key, @In byte[] value, long flags);

    int bpf_map_lookup_elem(int fd, @In byte[] key, @Out byte[] value);

    int bpf_map_delete_elem(int fd, @In byte[] key);

    /** {@code key} null asks for the first key. */
    int bpf_map_get_next_key(int fd, @In byte[] key, @Out byte[] nextKey);

    int bpf_obj_get(String path);

    int bpf_obj_pin(int fd, String path);

    /** An fd of the map with this id (a program's map ids, {@link ObjInfo#progMapIds}). */
    int bpf_map_get_fd_by_id(int id);

    /** Fills the first {@code *infoLen} bytes of struct bpf_map_info or bpf_prog_info at {@code info} ({@link ObjInfo}). */
    int bpf_obj_get_info_by_fd(int fd, Pointer info, Pointer infoLen);

    /** BPF_CGROUP_INET_INGRESS / EGRESS of enum bpf_attach_type. */
    int BPF_CGROUP_INET_INGRESS = 0;
    int BPF_CGROUP_INET_EGRESS = 1;

    /** {@code opts} may be NULL. A cgroup link is always a multi-attachment (BPF_F_ALLOW_MULTI semantics). */
    int bpf_link_create(int progFd, int targetFd, int attachType, Pointer opts);

    /** Atomically swaps the link's program; {@code opts} may be NULL. */
    int bpf_link_update(int linkFd, int newProgFd, Pointer opts);

    int bpf_link_detach(int linkFd);

    Pointer ring_buffer__new(int mapFd, SampleFn sampleCb, Pointer ctx, Pointer opts);

    int ring_buffer__poll(Pointer rb, int timeoutMs);

    /** Consumes what the ring buffer holds without waiting; the records consumed, or a negative errno. */
    int ring_buffer__consume(Pointer rb);

    void ring_buffer__free(Pointer rb);

    Pointer libbpf_set_print(PrintFn fn);

    int libbpf_num_possible_cpus();

    /** {@code int (*ring_buffer_sample_fn)(void *ctx, void *data, size_t size)} */
    interface SampleFn {
        @Delegate
        int call(Pointer ctx, Pointer data, @size_t long size);
    }

    /** {@code int (*libbpf_print_fn_t)(enum libbpf_print_level level, const char *fmt, va_list args)} */
    interface PrintFn {
        @Delegate
        int call(int level, Pointer fmt, Pointer vaList);
    }
}
