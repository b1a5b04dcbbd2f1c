/* SPDX-License-Identifier: Apache-2.0 */
/* Writing events into the ring buffer; a failed reservation is counted, never silent. */
#ifndef SEPTUM_EVENTS_H
#define SEPTUM_EVENTS_H

#include <bpf/bpf_helpers.h>
#include "maps.h"
#include "parse.h"

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&septum_stats, &idx);

	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

struct verdict_info {
	__u32 ep_id;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 rule_id;
	__u32 ifindex;
	__u16 drop_reason;
	__u8 type;
	__u8 direction;
	__u8 verdict;
	__u8 reply;
};

static __always_inline void emit_event(const struct pkt *p, const struct verdict_info *vi)
{
	struct septum_event *e = bpf_ringbuf_reserve(&septum_events, sizeof(*e), 0);

	if (!e) {
		stat_inc(STAT_EVENTS_LOST);
		return;
	}
	e->timestamp = bpf_ktime_get_ns();
	e->type = vi->type;
	e->direction = vi->direction;
	e->verdict = vi->verdict;
	e->family = p->family;
	e->proto = p->proto;
	e->tcp_flags = p->tcp_flags;
	e->reply = vi->reply;
	e->pad = 0;
	e->drop_reason = vi->drop_reason;
	e->sport = p->sport;
	e->dport = p->policy_port ? p->policy_port : p->dport;
	e->pad2 = 0;
	e->ep_id = vi->ep_id;
	e->src_identity = vi->src_identity;
	e->dst_identity = vi->dst_identity;
	e->rule_id = vi->rule_id;
	e->ifindex = vi->ifindex;
	e->pad3 = 0;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	bpf_ringbuf_submit(e, 0);
	stat_inc(STAT_EVENTS_EMITTED);
}

#endif
