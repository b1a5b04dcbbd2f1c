/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The endpoint of a cgroup_skb packet (septum_cgroup.bpf.c). A cgroup endpoint has no interface: its programs are
 * attached to its cgroup v2 directory and find the endpoint by the cgroup id of the packet's socket, in
 * septum_cgroup_endpoints (lib/maps.h).
 */
#ifndef SEPTUM_CGROUP_H
#define SEPTUM_CGROUP_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"

/* How many cgroup levels above the socket's own cgroup are searched for an endpoint. */
#define CGROUP_MAX_DEPTH 16

/* The innermost endpoint cgroup of the packet's socket (itself or an ancestor), or NULL. */
static __always_inline struct endpoint_value *cgroup_endpoint(struct __sk_buff *skb)
{
	struct endpoint_value *found = NULL, *ep;
	__u64 id;
	int level;

	/* ancestor level 0 is the root; walk down to the socket's own cgroup, keeping the deepest endpoint */
	for (level = 0; level < CGROUP_MAX_DEPTH; level++) {
		id = bpf_skb_ancestor_cgroup_id(skb, level);
		if (!id)
			break;
		ep = bpf_map_lookup_elem(&septum_cgroup_endpoints, &id);
		if (ep)
			found = ep;
	}
	return found;
}

#endif
