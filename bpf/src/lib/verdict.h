/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verdict path that both objects share, once the entry program has found its endpoint and parsed the packet:
 *
 *   verdict_unparsed  what a packet that is not IP, or not parseable, gets
 *   verdict_is_reply  the reply of a tracked connection passes before any policy
 *   verdict_established  a packet of a connection that the policy, as it stands, already let through passes on its
 *                     conntrack entry alone (policy_epoch)
 *   verdict_policy    remote identity from the ipcache, the policy map, the default of an enforced direction and
 *                     audit (the endpoint's flag or the entry's POLICY_F_AUDIT)
 *   verdict_track     the conntrack entry; the first packet of a connection reports the verdict
 *   verdict_plain     all of the above in order, for the programs with nothing in between (no load balancing,
 *                     no proxy): the cgroup_skb programs and the host firewall's
 *   verdict_drop      the single exit of a drop, reported with its reason
 *   verdict_parsed    the whole verdict of those programs once parsed: verdict_plain or verdict_unparsed, and
 *                     verdict_drop
 *
 * What differs stays in the entry files: how the endpoint is found (ifindex or cgroup id), load balancing and
 * proxy redirection (tc only), and what a REDIRECT entry means where no redirection can happen.
 */
#ifndef SEPTUM_VERDICT_H
#define SEPTUM_VERDICT_H

#include <bpf/bpf_helpers.h>
#include "../septum_event.h"
#include "drop.h"
#include "maps.h"
#include "parse.h"
#include "events.h"
#include "conntrack.h"
#include "ipcache.h"
#include "policy.h"

static __always_inline int endpoint_enforced(const struct endpoint_value *ep, __u8 dir)
{
	return ep->flags & (dir == SEPTUM_DIR_INGRESS ? EP_F_INGRESS_ENFORCED : EP_F_EGRESS_ENFORCED);
}

/* parse_ret is PARSE_NOT_IP or a DROP_* code: an enforced direction drops it, an open one lets it pass (0). */
static __always_inline int verdict_unparsed(const struct endpoint_value *ep, __u8 dir, int parse_ret)
{
	if (!endpoint_enforced(ep, dir))
		return 0;
	return parse_ret == PARSE_NOT_IP ? DROP_UNSUPPORTED_L3 : parse_ret;
}

/* Whether the packet is the reply of a connection that this endpoint's policy let through. */
static __always_inline int verdict_is_reply(const struct endpoint_value *ep, __u8 dir, const struct pkt *p, __u64 now)
{
	struct ct_key ck = {};

	if (!ct_may_be_reply(p))
		return 0;
	ct_key_reverse(&ck, p, ep->ep_id, dir);
	return ct_lookup_live(&ck, now) != NULL;
}

/* The current policy epoch (septum_epoch); 0 (never current) when it cannot be read. One aligned 4-byte load. */
static __always_inline __u32 policy_epoch(void)
{
	__u32 zero = 0;
	__u32 *e = bpf_map_lookup_elem(&septum_epoch, &zero);

	return e ? *(volatile __u32 *)e : 0;
}

/*
 * The live entry of the connection this packet belongs to (as its sender opened it), or NULL. Not refreshed here:
 * a packet the policy now drops must not keep its connection's entry (and so the other side's replies) alive.
 */
static __always_inline struct ct_value *verdict_tracked(const struct endpoint_value *ep, __u8 dir, const struct pkt *p,
							__u64 now)
{
	struct ct_key ck = {};

	if (!ct_trackable(p))
		return NULL;
	ct_key_original(&ck, p, ep->ep_id, dir);
	return ct_lookup_unrefreshed(&ck, now);
}

/*
 * The fast path of an established connection, given its entry v (verdict_tracked's): when the entry says that a
 * policy verdict under the current epoch let it through as plain FORWARDED, with the flags this packet gives it,
 * the policy would say the same again (every change to what the verdict reads moves the epoch on). The packet is
 * counted under the entry's rule, as verdict_policy would count it, and passes without the ipcache and policy
 * lookups. Returns 1 when it passed. epoch must be read before any lookup that a verdict made under it relies on.
 */
static __always_inline int verdict_established(const struct endpoint_value *ep, __u8 dir, struct ct_value *v,
					       __u64 now, __u32 ct_flags, __u32 epoch)
{
	if (!v || !epoch || v->epoch != epoch || v->flags != ct_flags)
		return 0;
	ct_refresh(v, now);
	policy_count(ep->ep_id, v->rule_id, dir);
	stat_inc(STAT_CT_FAST);
	return 1;
}

/*
 * The policy verdict of a new packet. Fills vi (identities, rule, FORWARDED or AUDIT) and *pr, sets *ct_flags
 * for an audited connection, and returns 0 to pass or a negative DROP_* code. redirect_ret is what a REDIRECT
 * entry means here: 0 where the caller redirects (or cannot enforce L7), a drop code where no redirection can
 * happen and the proxy must not be skipped.
 */
static __always_inline int verdict_policy(const struct endpoint_value *ep, __u8 dir, const struct pkt *p,
					  struct verdict_info *vi, struct policy_result *pr, __u32 *ct_flags,
					  int redirect_ret)
{
	__u32 remote_identity = ipcache_identity(dir == SEPTUM_DIR_INGRESS ? p->saddr : p->daddr);
	int ret;

	if (dir == SEPTUM_DIR_INGRESS) {
		vi->src_identity = remote_identity;
		vi->dst_identity = ep->identity;
	} else {
		vi->src_identity = ep->identity;
		vi->dst_identity = remote_identity;
	}

	policy_decide(ep->ep_id, remote_identity, dir, p, pr);
	vi->rule_id = pr->rule_id;
	policy_count(ep->ep_id, pr->rule_id, dir);
	vi->verdict = SEPTUM_VERDICT_FORWARDED;
	if (pr->action == POLICY_DENY)
		ret = DROP_POLICY_DENY;
	else if (pr->action == POLICY_REDIRECT)
		ret = redirect_ret;
	else if (pr->action == POLICY_ALLOW)
		ret = 0;
	else
		ret = endpoint_enforced(ep, dir) ? DROP_POLICY : 0;
	if (ret < 0 && ((ep->flags & EP_F_AUDIT) || pr->audit)) {
		vi->verdict = SEPTUM_VERDICT_AUDIT;
		vi->drop_reason = -ret;
		*ct_flags |= CT_F_AUDIT;
		ret = 0;
	}
	return ret;
}

/*
 * Creates or refreshes the connection's entry (tracked: verdict_tracked's answer for this packet); its first packet
 * reports the verdict in vi. epoch: the policy epoch read before the verdict, when the verdict was a plain FORWARDED
 * that verdict_established may stand for; else 0.
 */
static __always_inline void verdict_track(const struct endpoint_value *ep, __u8 dir, const struct pkt *p,
					  struct verdict_info *vi, __u64 now, __u32 ct_flags, __u32 rule_id,
					  __u32 epoch, struct ct_value *tracked)
{
	struct ct_key ck = {};

	if (!ct_trackable(p))
		return;
	ct_key_original(&ck, p, ep->ep_id, dir);
	if (ct_create_or_refresh(&ck, tracked, now, ct_flags, rule_id,
				 vi->verdict == SEPTUM_VERDICT_FORWARDED ? epoch : 0)) {
		vi->type = SEPTUM_EVENT_POLICY_VERDICT;
		emit_event(p, vi);
	}
}

/*
 * The verdict of a parsed IP packet where nothing happens between the checks: a reply of a tracked connection
 * passes, so does a packet of a connection the policy as it stands let through (verdict_established); else the
 * policy decides (a REDIRECT entry means redirect_ret, as for verdict_policy: no redirection
 * happens here), or, with bypass, the packet passes without it (the host's failsafe ports); a passing packet is
 * tracked. Returns 0 to pass or a negative DROP_* code, which the caller reports with verdict_drop.
 */
static __always_inline int verdict_plain(const struct endpoint_value *ep, __u8 dir, const struct pkt *p,
					 struct verdict_info *vi, int bypass, int redirect_ret)
{
	struct policy_result pr = {};
	struct ct_value *tracked;
	__u32 ct_flags = 0, epoch = 0;
	__u64 now = bpf_ktime_get_ns();
	int ret;

	if (verdict_is_reply(ep, dir, p, now))
		return 0;
	epoch = policy_epoch(); /* before any lookup a verdict relies on */
	tracked = verdict_tracked(ep, dir, p, now);
	if (bypass) {
		/* no policy verdict: the entry stands for none (epoch 0) */
		vi->src_identity = dir == SEPTUM_DIR_INGRESS ? ipcache_identity(p->saddr) : ep->identity;
		vi->dst_identity = dir == SEPTUM_DIR_INGRESS ? ep->identity : ipcache_identity(p->daddr);
		vi->verdict = SEPTUM_VERDICT_FORWARDED;
		epoch = 0;
	} else {
		if (verdict_established(ep, dir, tracked, now, ct_flags, epoch))
			return 0;
		ret = verdict_policy(ep, dir, p, vi, &pr, &ct_flags, redirect_ret);
		if (ret < 0)
			return ret;
	}
	verdict_track(ep, dir, p, vi, now, ct_flags, pr.rule_id, epoch, tracked);
	return 0;
}

/* Reports a drop (ret < 0) with its reason; the caller then drops the packet. */
static __always_inline void verdict_drop(const struct pkt *p, struct verdict_info *vi, int ret)
{
	vi->type = SEPTUM_EVENT_DROP;
	vi->verdict = SEPTUM_VERDICT_DROPPED;
	vi->drop_reason = -ret;
	emit_event(p, vi);
}

/*
 * The whole verdict of the programs with nothing in between (verdict_plain's), for the packet the endpoint ep sees
 * on ifindex (0 when it has no interface: flows then name it by its id). parse_ret is what the parser returned,
 * PARSE_IP or what verdict_unparsed takes; bypass (used only for PARSE_IP) and redirect_ret as for verdict_plain.
 * Returns 0 to pass or a negative DROP_* code, already reported: the caller drops the packet.
 */
static __always_inline int verdict_parsed(const struct endpoint_value *ep, __u8 dir, const struct pkt *p,
					  __u32 ifindex, int parse_ret, int bypass, int redirect_ret)
{
	struct verdict_info vi = {};
	int ret;

	vi.ep_id = ep->ep_id;
	vi.ifindex = ifindex;
	vi.direction = dir;
	ret = parse_ret == PARSE_IP ? verdict_plain(ep, dir, p, &vi, bypass, redirect_ret)
				    : verdict_unparsed(ep, dir, parse_ret);
	if (ret < 0)
		verdict_drop(p, &vi, ret);
	return ret;
}

#endif
