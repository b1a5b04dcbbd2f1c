/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tc programs for an endpoint's host-side veth.
 *
 *   septum_from_ep: host-veth ingress hook = packets leaving the endpoint (endpoint EGRESS)
 *   septum_to_ep:   host-veth egress hook  = packets entering the endpoint (endpoint INGRESS)
 *
 * Verdict path: endpoint lookup by ifindex (unknown interface: pass), parse, conntrack reply check (replies of
 * tracked connections pass), remote identity from the ipcache (miss = world), policy, then conntrack entry and
 * a policy-verdict event on the first packet of a connection. Every drop leaves through the single exit label,
 * which reports it with its reason.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "septum_event.h"
#include "lib/drop.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/events.h"
#include "lib/conntrack.h"
#include "lib/policy.h"
#include "lib/lb.h"
#include "lib/proxy.h"

static __always_inline __u32 ipcache_identity(const __u8 *addr)
{
	struct ipcache_key k = {};
	struct ipcache_value *v;

	k.prefixlen = 128;
	__builtin_memcpy(k.addr, addr, 16);
	v = bpf_map_lookup_elem(&septum_ipcache, &k);
	return v ? v->identity : WORLD_IDENTITY;
}

static __always_inline int direction_enforced(const struct endpoint_value *ep, __u8 dir)
{
	return ep->flags & (dir == SEPTUM_DIR_INGRESS ? EP_F_INGRESS_ENFORCED : EP_F_EGRESS_ENFORCED);
}

static __always_inline int handle(struct __sk_buff *skb, __u8 dir)
{
	struct verdict_info vi = {};
	struct policy_result pr = {};
	struct endpoint_value *ep;
	struct ct_key ck = {};
	struct pkt p = {};
	__u32 ifindex = skb->ifindex;
	__u32 remote_identity = 0;
	__u32 ct_flags = 0;
	int redirect = 0;
	__u64 now;
	int ret;

	ep = bpf_map_lookup_elem(&septum_endpoints, &ifindex);
	if (!ep)
		return TC_ACT_OK; /* not (or no longer) an endpoint interface */

	vi.ep_id = ep->ep_id;
	vi.ifindex = ifindex;
	vi.direction = dir;

	ret = parse_packet(skb, &p);
	if (ret == PARSE_ALWAYS_PASS) {
		if (dir == SEPTUM_DIR_EGRESS && (ret = lb_arp_respond(skb)) >= 0)
			return ret; /* an ARP request for a service VIP, answered */
		return TC_ACT_OK;
	}
	if (ret == PARSE_NOT_IP) {
		ret = direction_enforced(ep, dir) ? DROP_UNSUPPORTED_L3 : 0;
		goto out;
	}
	if (ret < 0) {
		if (!direction_enforced(ep, dir))
			ret = 0;
		goto out;
	}

	now = bpf_ktime_get_ns();
	if (ct_may_be_reply(&p)) {
		ct_key_reverse(&ck, &p, ep->ep_id, dir);
		if (ct_lookup_live(&ck, now)) {
			ret = 0;
			goto out; /* reply of a connection this endpoint's policy let through */
		}
	}

	if (dir == SEPTUM_DIR_EGRESS) {
		/* services: a packet to a frontend is DNATed to its backend, whose identity policy then sees */
		ret = lb_from_ep(skb, &p);
		if (ret == DROP_NO_SERVICE) {
			vi.type = SEPTUM_EVENT_DROP;
			vi.verdict = SEPTUM_VERDICT_DROPPED;
			vi.drop_reason = -ret;
			vi.src_identity = ep->identity;
			emit_event(&p, &vi);
			return lb_reject(skb, &p);
		}
		if (ret < 0)
			goto out;
		ret = 0;
	}

	if (dir == SEPTUM_DIR_INGRESS && proxy_upstream_leg(skb)) {
		/* the L7 proxy's leg of a connection it judged: tracked, so that the endpoint's replies pass */
		vi.src_identity = ipcache_identity(p.saddr);
		vi.dst_identity = ep->identity;
		vi.verdict = SEPTUM_VERDICT_FORWARDED;
		ret = 0;
		goto track;
	}

	remote_identity = ipcache_identity(dir == SEPTUM_DIR_INGRESS ? p.saddr : p.daddr);
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
	if (pr.action == POLICY_DENY) {
		ret = DROP_POLICY_DENY;
	} else if (pr.action == POLICY_REDIRECT && dir == SEPTUM_DIR_INGRESS) {
		/* only septum_from_ep can redirect; what reaches here unredirected (host, world) fails closed */
		ret = DROP_PROXY_UNAVAILABLE;
	} else if (pr.action == POLICY_ALLOW || pr.action == POLICY_REDIRECT) {
		ret = 0;
	} else {
		ret = direction_enforced(ep, dir) ? DROP_POLICY : 0;
	}
	if (ret < 0 && ((ep->flags & EP_F_AUDIT) || pr.audit)) {
		vi.verdict = SEPTUM_VERDICT_AUDIT;
		vi.drop_reason = -ret;
		ct_flags = CT_F_AUDIT;
		ret = 0;
	}
	if (ret < 0)
		goto out;

	if (dir == SEPTUM_DIR_EGRESS) {
		redirect = proxy_wanted(ep, &p, &pr, &vi.rule_id);
		if (redirect)
			vi.verdict = SEPTUM_VERDICT_REDIRECTED;
	}

track:
	if (ct_trackable(&p)) {
		ct_key_original(&ck, &p, ep->ep_id, dir);
		if (ct_create_or_refresh(&ck, now, ct_flags, pr.rule_id)) {
			vi.type = SEPTUM_EVENT_POLICY_VERDICT;
			emit_event(&p, &vi);
		}
	}
	if (redirect)
		ret = proxy_assign(skb, &p);

out:
	if (ret < 0) {
		vi.type = SEPTUM_EVENT_DROP;
		vi.verdict = SEPTUM_VERDICT_DROPPED;
		vi.drop_reason = -ret;
		emit_event(&p, &vi);
		return TC_ACT_SHOT;
	}
	/* services: replies of load-balanced connections come back from the VIP */
	if (dir == SEPTUM_DIR_INGRESS && lb_rev_nat(skb, &p) < 0)
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("tc")
int septum_from_ep(struct __sk_buff *skb)
{
	return handle(skb, SEPTUM_DIR_EGRESS);
}

SEC("tc")
int septum_to_ep(struct __sk_buff *skb)
{
	return handle(skb, SEPTUM_DIR_INGRESS);
}

/*
 * tc ingress of the bridge whose ports are endpoint interfaces: a frame septum_from_ep marked for the proxy comes
 * up here without the socket it was assigned (the bridge drops it), so it is assigned again before IP sees it.
 * Everything else passes untouched.
 */
SEC("tc")
int septum_to_proxy(struct __sk_buff *skb)
{
	struct pkt p = {};
	__u16 port;

	if (skb->mark != PROXY_REDIRECT_MARK)
		return TC_ACT_OK;
	if (parse_packet(skb, &p) != PARSE_IP || p.proto != IPPROTO_TCP)
		return TC_ACT_SHOT;
	port = proxy_port();
	if (!port || proxy_sk_assign(skb, &p, port))
		return TC_ACT_SHOT; /* fail closed: the proxy is gone */
	return TC_ACT_OK;
}

char _license[] SEC("license") = "Dual BSD/GPL";
