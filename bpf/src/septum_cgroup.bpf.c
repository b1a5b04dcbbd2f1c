/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup_skb programs for endpoints that are cgroup v2 directories (source-cgroup): attached to the endpoint's
 * cgroup, they see the packets of its sockets at the socket layer, where skb->data starts at the IP header.
 *
 *   septum_cg_egress:  packets the endpoint's sockets send (endpoint EGRESS)
 *   septum_cg_ingress: packets delivered to them (endpoint INGRESS)
 *
 * The endpoint is the innermost cgroup of the socket (itself or an ancestor) present in septum_cgroup_endpoints;
 * a program attached to an outer cgroup also runs for sockets of inner ones, so both decide for the innermost
 * endpoint. The rest is the tc path's: conntrack, remote identity from the shared ipcache, the shared policy map,
 * the same events. Return 1 passes, 0 drops.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "septum_event.h"
#include "lib/drop.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/events.h"
#include "lib/conntrack.h"
#include "lib/policy.h"
#include "lib/cgroup.h"

#define CG_PASS 1
#define CG_DROP 0

static __always_inline __u32 cg_ipcache_identity(const __u8 *addr)
{
	struct ipcache_key k = {};
	struct ipcache_value *v;

	k.prefixlen = 128;
	__builtin_memcpy(k.addr, addr, 16);
	v = bpf_map_lookup_elem(&septum_ipcache, &k);
	return v ? v->identity : WORLD_IDENTITY;
}

static __always_inline struct endpoint_value *cg_endpoint(struct __sk_buff *skb)
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

/* Like parse_packet, but the packet starts at the IP header (the version nibble tells the family). */
static __always_inline int parse_l3(struct __sk_buff *skb, struct pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 *first = data;

	if ((void *)(first + 1) > data_end)
		return DROP_INVALID;
	if ((*first >> 4) == 4) {
		struct iphdr *ip = data;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return DROP_INVALID;
		ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip) || ihl > 60)
			return DROP_INVALID;
		p->family = 4;
		p->proto = ip->protocol;
		set_v4_mapped(p->saddr, ip->saddr);
		set_v4_mapped(p->daddr, ip->daddr);
		if (bpf_ntohs(ip->frag_off) & 0x1fff)
			return PARSE_IP;
		return parse_l4((void *)ip + ihl, data_end, p);
	}
	if ((*first >> 4) == 6) {
		struct ipv6hdr *ip6 = data;

		if ((void *)(ip6 + 1) > data_end)
			return DROP_INVALID;
		p->family = 6;
		p->proto = ip6->nexthdr;
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		/* Extension headers are not walked here: such packets are judged with port 0 (fails closed). */
		if (ip6->nexthdr == IPPROTO_HOPOPTS || ip6->nexthdr == IPPROTO_ROUTING ||
		    ip6->nexthdr == IPPROTO_DSTOPTS || ip6->nexthdr == IPPROTO_FRAGMENT)
			return PARSE_IP;
		return parse_l4((void *)(ip6 + 1), data_end, p);
	}
	return PARSE_NOT_IP;
}

static __always_inline int cg_enforced(const struct endpoint_value *ep, __u8 dir)
{
	return ep->flags & (dir == SEPTUM_DIR_INGRESS ? EP_F_INGRESS_ENFORCED : EP_F_EGRESS_ENFORCED);
}

static __always_inline int cg_handle(struct __sk_buff *skb, __u8 dir)
{
	struct verdict_info vi = {};
	struct policy_result pr = {};
	struct endpoint_value *ep;
	struct ct_key ck = {};
	struct pkt p = {};
	__u32 remote_identity;
	__u32 ct_flags = 0;
	__u64 now;
	int ret;

	ep = cg_endpoint(skb);
	if (!ep)
		return CG_PASS; /* a socket of no endpoint cgroup (or one being removed) */

	vi.ep_id = ep->ep_id;
	vi.ifindex = 0; /* no interface: flows name the endpoint by its id */
	vi.direction = dir;

	ret = parse_l3(skb, &p);
	if (ret == PARSE_ALWAYS_PASS)
		return CG_PASS;
	if (ret == PARSE_NOT_IP) {
		ret = cg_enforced(ep, dir) ? DROP_UNSUPPORTED_L3 : 0;
		goto out;
	}
	if (ret < 0) {
		if (!cg_enforced(ep, dir))
			ret = 0;
		goto out;
	}

	now = bpf_ktime_get_ns();
	if (ct_may_be_reply(&p)) {
		ct_key_reverse(&ck, &p, ep->ep_id, dir);
		if (ct_lookup_live(&ck, now)) {
			ret = 0;
			goto out;
		}
	}

	remote_identity = cg_ipcache_identity(dir == SEPTUM_DIR_INGRESS ? p.saddr : p.daddr);
	if (dir == SEPTUM_DIR_INGRESS) {
		vi.src_identity = remote_identity;
		vi.dst_identity = ep->identity;
	} else {
		vi.src_identity = ep->identity;
		vi.dst_identity = remote_identity;
	}

	policy_decide(ep->ep_id, remote_identity, dir, &p, &pr);
	vi.rule_id = pr.rule_id;
	policy_count(ep->ep_id, pr.rule_id, dir);
	vi.verdict = SEPTUM_VERDICT_FORWARDED;
	if (pr.action == POLICY_DENY)
		ret = DROP_POLICY_DENY;
	else if (pr.action == POLICY_ALLOW || pr.action == POLICY_REDIRECT)
		ret = 0;
	else
		ret = cg_enforced(ep, dir) ? DROP_POLICY : 0;
	if (ret < 0 && (ep->flags & EP_F_AUDIT)) {
		vi.verdict = SEPTUM_VERDICT_AUDIT;
		vi.drop_reason = -ret;
		ct_flags = CT_F_AUDIT;
		ret = 0;
	}
	if (ret < 0)
		goto out;

	if (ct_trackable(&p)) {
		ct_key_original(&ck, &p, ep->ep_id, dir);
		if (ct_create_or_refresh(&ck, now, ct_flags, pr.rule_id)) {
			vi.type = SEPTUM_EVENT_POLICY_VERDICT;
			emit_event(&p, &vi);
		}
	}

out:
	if (ret < 0) {
		vi.type = SEPTUM_EVENT_DROP;
		vi.verdict = SEPTUM_VERDICT_DROPPED;
		vi.drop_reason = -ret;
		emit_event(&p, &vi);
		return CG_DROP;
	}
	return CG_PASS;
}

SEC("cgroup_skb/egress")
int septum_cg_egress(struct __sk_buff *skb)
{
	return cg_handle(skb, SEPTUM_DIR_EGRESS);
}

SEC("cgroup_skb/ingress")
int septum_cg_ingress(struct __sk_buff *skb)
{
	return cg_handle(skb, SEPTUM_DIR_INGRESS);
}

char _license[] SEC("license") = "Dual BSD/GPL";
