/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connection tracking. It answers "is this a reply of a connection we let through?", "is this the first packet of a
 * connection?" and "did the policy, as it stands, already let this connection through?" (the entry's epoch, which
 * lib/verdict.h compares with septum_epoch). Any policy change moves the epoch on, so the next packet of every
 * connection is judged again and revoking an allow still cuts flows.
 */
#ifndef SEPTUM_CONNTRACK_H
#define SEPTUM_CONNTRACK_H

#include <bpf/bpf_helpers.h>
#include "maps.h"
#include "parse.h"

#define CT_TIMEOUT_TCP_NS (6ULL * 3600 * 1000000000ULL)
#define CT_TIMEOUT_OTHER_NS (60ULL * 1000000000ULL)
#define CT_REFRESH_NS 1000000000ULL

static __always_inline __u64 ct_timeout(__u8 proto)
{
	return proto == IPPROTO_TCP ? CT_TIMEOUT_TCP_NS : CT_TIMEOUT_OTHER_NS;
}

/* Every field is written, padding included: the map compares the key's bytes. */
static __always_inline void ct_key_set(struct ct_key *k, const __u8 *saddr, const __u8 *daddr, __u16 sport,
				       __u16 dport, __u8 proto, __u8 dir, __u32 ep_id)
{
	__builtin_memcpy(k->saddr, saddr, 16);
	__builtin_memcpy(k->daddr, daddr, 16);
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	k->dir = dir;
	k->pad = 0;
	k->ep_id = ep_id;
}

static __always_inline void ct_key_original(struct ct_key *k, const struct pkt *p, __u32 ep_id, __u8 dir)
{
	ct_key_set(k, p->saddr, p->daddr, p->sport, p->dport, p->proto, dir, ep_id);
}

/* The key of the connection this packet would answer: reversed tuple, opposite direction. */
static __always_inline void ct_key_reverse(struct ct_key *k, const struct pkt *p, __u32 ep_id, __u8 dir)
{
	ct_key_set(k, p->daddr, p->saddr, p->dport, p->sport, p->proto,
		   dir == SEPTUM_DIR_INGRESS ? SEPTUM_DIR_EGRESS : SEPTUM_DIR_INGRESS, ep_id);
}

/* Returns the live entry for k without refreshing it (the packet may yet be dropped), or NULL. */
static __always_inline struct ct_value *ct_lookup_unrefreshed(struct ct_key *k, __u64 now)
{
	struct ct_value *v = bpf_map_lookup_elem(&septum_ct, k);

	if (!v || now - v->last_seen > ct_timeout(k->proto))
		return NULL;
	return v;
}

/* Marks a live entry seen now (at most once a second, to spare the cache line). */
static __always_inline void ct_refresh(struct ct_value *v, __u64 now)
{
	if (now - v->last_seen > CT_REFRESH_NS)
		v->last_seen = now;
}

/* Returns the live entry for k (refreshing its time), or NULL when missing or expired. */
static __always_inline struct ct_value *ct_lookup_live(struct ct_key *k, __u64 now)
{
	struct ct_value *v = bpf_map_lookup_elem(&septum_ct, k);

	if (!v)
		return NULL;
	if (now - v->last_seen > ct_timeout(k->proto))
		return NULL;
	if (now - v->last_seen > CT_REFRESH_NS)
		v->last_seen = now;
	return v;
}

/* Only echo requests and TCP/UDP/SCTP-like flows open connections; other ICMP messages are judged alone. */
static __always_inline int ct_trackable(const struct pkt *p)
{
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
		return p->icmp_kind == ICMP_KIND_ECHO_REQUEST;
	return 1;
}

static __always_inline int ct_may_be_reply(const struct pkt *p)
{
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
		return p->icmp_kind == ICMP_KIND_ECHO_REPLY;
	return 1;
}

/*
 * Records the connection whose live entry for k is v (NULL: none, as ct_lookup_unrefreshed found); returns 1 when it
 * is new (so that a policy-verdict event is due). epoch is what the entry stands for from now on (0: nothing, each
 * packet is judged).
 */
static __always_inline int ct_create_or_refresh(struct ct_key *k, struct ct_value *v, __u64 now, __u32 flags,
						__u32 rule_id, __u32 epoch)
{
	struct ct_value nv = {};

	if (v)
		ct_refresh(v, now);
	if (v && v->flags == flags) {
		if (v->epoch != epoch)
			v->epoch = epoch;
		if (v->rule_id != rule_id)
			v->rule_id = rule_id;
		return 0;
	}
	nv.last_seen = now;
	nv.flags = flags;
	nv.rule_id = rule_id;
	nv.epoch = epoch;
	bpf_map_update_elem(&septum_ct, k, &nv, BPF_ANY);
	return v ? 0 : 1;
}

#endif
