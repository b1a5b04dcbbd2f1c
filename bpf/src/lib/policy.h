/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy lookup: two longest-prefix matches, with the remote identity and with identity 0 (any). A DENY from
 * either wins, else an ALLOW (or REDIRECT) from either, else nothing matched (the caller applies the default).
 * Inside one identity the agent never writes an allow that a broader deny covers, so LPM cannot hide a deny.
 *
 * Audit-mode policies (POLICY_F_AUDIT): a picked DENY keeps its action and sets audit, so the caller lets the packet
 * pass as AUDIT. An ALLOW with the flag is the audit default that the agent writes on identity 0, every port, for a
 * direction that only audit-mode policies select: when it is the only match, the result is "nothing matched, audit",
 * so the caller's default deny becomes AUDIT; any real entry of either lookup wins over it.
 */
#ifndef SEPTUM_POLICY_H
#define SEPTUM_POLICY_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "parse.h"

#define POLICY_KEY_FULL_PREFIX 96

struct policy_result {
	__u32 rule_id;
	__u16 proxy_port;
	__u8 action; /* 0 = no entry matched */
	__u8 audit;  /* a drop that this result causes is reported as AUDIT and the packet passes */
};

static __always_inline struct policy_value *policy_lookup_one(__u32 ep_id, __u32 identity, __u8 dir,
							       const struct pkt *p)
{
	struct policy_key k = {};

	k.prefixlen = POLICY_KEY_FULL_PREFIX;
	k.ep_id = bpf_htonl(ep_id);
	k.identity = bpf_htonl(identity);
	k.dir = dir;
	k.proto = p->proto;
	k.dport = bpf_htons(p->policy_port);
	return bpf_map_lookup_elem(&septum_policy, &k);
}

static __always_inline void policy_count(__u32 ep_id, __u32 rule_id, __u8 dir)
{
	struct policy_stats_key k = {};
	__u64 one = 1, *v;

	k.ep_id = ep_id;
	k.rule_id = rule_id;
	k.dir = dir;
	v = bpf_map_lookup_elem(&septum_policy_stats, &k);
	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&septum_policy_stats, &k, &one, BPF_NOEXIST);
}

static __always_inline void policy_decide(__u32 ep_id, __u32 remote_identity, __u8 dir, const struct pkt *p,
					  struct policy_result *r)
{
	struct policy_value *exact = policy_lookup_one(ep_id, remote_identity, dir, p);
	struct policy_value *any = remote_identity ? policy_lookup_one(ep_id, 0, dir, p) : NULL;
	struct policy_value *pick = NULL;

	/* an enforced deny of either lookup beats an audit deny of the other */
	if (exact && exact->action == POLICY_DENY && !(exact->flags & POLICY_F_AUDIT))
		pick = exact;
	else if (any && any->action == POLICY_DENY && !(any->flags & POLICY_F_AUDIT))
		pick = any;
	else if (exact && exact->action == POLICY_DENY)
		pick = exact;
	else if (any && any->action == POLICY_DENY)
		pick = any;
	else if (exact)
		pick = exact;
	else if (any)
		pick = any;

	r->audit = 0;
	if (pick) {
		r->action = pick->action;
		r->rule_id = pick->rule_id;
		r->proxy_port = pick->proxy_port;
		if (pick->flags & POLICY_F_AUDIT) {
			r->audit = 1;
			if (pick->action == POLICY_ALLOW)
				r->action = 0;
		}
	} else {
		r->action = 0;
		r->rule_id = 0;
		r->proxy_port = 0;
	}
}

#endif
