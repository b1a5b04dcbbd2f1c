/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Maps of the cgroup_skb programs (septum_cgroup.bpf.c). A cgroup endpoint has no interface: its programs are
 * attached to its cgroup v2 directory and find the endpoint by the cgroup id of the packet's socket. Pinned by
 * name next to the maps of lib/maps.h, which both objects share.
 */
#ifndef SEPTUM_CGROUP_H
#define SEPTUM_CGROUP_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"

/* How many cgroup levels above the socket's own cgroup are searched for an endpoint. */
#define CGROUP_MAX_DEPTH 16

/* cgroup id (the cgroup directory's inode number) -> endpoint. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct endpoint_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_cgroup_endpoints SEC(".maps");

#endif
