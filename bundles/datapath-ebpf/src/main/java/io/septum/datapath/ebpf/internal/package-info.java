/**
 * The eBPF datapath behind {@link io.septum.api.datapath.Datapath}: jnr-ffi bindings to the system libbpf, mirrors
 * of the C structs of {@code bpf/}, the policy-map codec (port ranges to prefixes, deny wins), tc attach with atomic
 * replace, the events ring-buffer reader, and the DS component that runs it in the agent. {@link
 * io.septum.datapath.ebpf.internal.EbpfDatapath} works without OSGi, for tests and benchmarks. Nothing is exported.
 */
package io.septum.datapath.ebpf.internal;
