/* SPDX-License-Identifier: Apache-2.0 */
/* The remote side's security identity: longest-prefix match of its address in the ipcache; a miss is world. */
#ifndef SEPTUM_IPCACHE_H
#define SEPTUM_IPCACHE_H

#include <bpf/bpf_helpers.h>
#include "maps.h"

static __always_inline __u32 ipcache_identity(const __u8 *addr)
{
	struct ipcache_key k = {};
	struct ipcache_value *v;

	k.prefixlen = 128;
	__builtin_memcpy(k.addr, addr, 16);
	v = bpf_map_lookup_elem(&septum_ipcache, &k);
	return v ? v->identity : WORLD_IDENTITY;
}

#endif
