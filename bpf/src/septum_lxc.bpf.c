/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tc programs for an endpoint's host-side veth.
 *
 *   septum_from_ep: host-veth ingress hook = packets leaving the endpoint (endpoint EGRESS)
 *   septum_to_ep:   host-veth egress hook  = packets entering the endpoint (endpoint INGRESS)
 *
 * The endpoint is found by ifindex (unknown interface: pass). The verdict itself is lib/verdict.h's, shared with
 * the cgroup_skb programs; what is the tc path's own is here: load balancing before egress policy, the L7
 * proxy's redirection and its upstream leg, and the reverse NAT of replies. Every drop leaves through the single
 * exit label, which reports it with its reason.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "septum_event.h"
#include "lib/verdict.h"
#include "lib/lb.h"
#include "lib/proxy.h"

static __always_inline int handle(struct __sk_buff *skb, __u8 dir)
{
	struct verdict_info vi = {};
	struct policy_result pr = {};
	struct endpoint_value *ep;
	struct ct_value *tracked;
	struct pkt p = {};
	__u32 ifindex = skb->ifindex;
	__u32 ct_flags = 0, epoch = 0;
	int redirect = 0;
	__u64 now = 0;
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
	if (ret != PARSE_IP) {
		ret = verdict_unparsed(ep, dir, ret);
		goto out;
	}

	now = bpf_ktime_get_ns();
	if (verdict_is_reply(ep, dir, &p, now)) {
		ret = 0;
		goto out;
	}

	if (dir == SEPTUM_DIR_EGRESS) {
		/* services: a packet to a frontend is DNATed to its backend, whose identity policy then sees */
		ret = lb_from_ep(skb, &p);
		if (ret == DROP_NO_SERVICE) {
			vi.src_identity = ep->identity;
			verdict_drop(&p, &vi, ret);
			return lb_reject(skb, &p);
		}
		if (ret < 0)
			goto out;
		if (ret == LB_TRANSLATED)
			ct_flags = CT_F_LB; /* its replies get the VIP back (lb_rev_nat) */
		ret = 0;
	}

	/* the connection's own entry, once: after the DNAT above (egress), before the proxy's check (ingress) */
	epoch = policy_epoch();
	tracked = verdict_tracked(ep, dir, &p, now);

	if (dir == SEPTUM_DIR_INGRESS && proxy_owns(skb, &p, tracked != NULL)) {
		/* the answer to the proxy's transparent upstream leg: to the proxy's socket, through the bridge */
		ret = proxy_redirect_ingress(skb, &p);
		if (ret == TC_ACT_REDIRECT)
			return ret;
		if (ret >= 0)
			ret = DROP_PROXY_UNAVAILABLE;
		goto out;
	}

	if (dir == SEPTUM_DIR_INGRESS && proxy_upstream_leg(skb)) {
		/* the L7 proxy's leg of a connection it judged: tracked, so that the endpoint's replies pass */
		vi.src_identity = ipcache_identity(p.saddr);
		vi.dst_identity = ep->identity;
		vi.verdict = SEPTUM_VERDICT_FORWARDED;
		epoch = 0; /* no policy verdict: the entry stands for none */
		ret = 0;
		goto track;
	}

	/* a connection the policy as it stands let through (no redirection, no audit): no lookups, no proxy check */
	if (verdict_established(ep, dir, tracked, now, ct_flags, epoch)) {
		ret = 0;
		goto out;
	}

	ret = verdict_policy(ep, dir, &p, &vi, &pr, &ct_flags, 0);
	if (ret < 0)
		goto out;

	if (dir == SEPTUM_DIR_EGRESS)
		redirect = proxy_wanted(ep, &p, &pr, &vi.rule_id);
	else
		/* a source that no septum_from_ep here redirected (another node, the host, the world) */
		redirect = pr.action == POLICY_REDIRECT;
	if (redirect)
		vi.verdict = SEPTUM_VERDICT_REDIRECTED;
	if (redirect && dir == SEPTUM_DIR_INGRESS) {
		/* set up first: a connection that cannot reach the proxy is dropped, never recorded as redirected */
		ret = proxy_redirect_ingress(skb, &p);
		if (ret != TC_ACT_REDIRECT) {
			if (ret >= 0)
				ret = DROP_PROXY_UNAVAILABLE;
			goto out;
		}
		verdict_track(ep, dir, &p, &vi, now, ct_flags, pr.rule_id, 0, tracked);
		return TC_ACT_REDIRECT;
	}

track:
	/* a redirected connection's packets each go to the proxy */
	verdict_track(ep, dir, &p, &vi, now, ct_flags, pr.rule_id, redirect ? 0 : epoch, tracked);
	if (redirect)
		ret = proxy_assign(skb, &p);

out:
	if (ret < 0) {
		verdict_drop(&p, &vi, ret);
		return TC_ACT_SHOT;
	}
	/* services: replies of load-balanced connections come back from the VIP */
	if (dir == SEPTUM_DIR_INGRESS && lb_rev_nat(skb, &p, ep->ep_id, now) < 0)
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
 * The host firewall: tc programs on the host's own interfaces (the agent's hostInterfaces), each in
 * septum_endpoints with EP_F_HOST and the host endpoint's id and identity (host).
 *
 *   septum_host_in:  the interface's ingress hook = packets to the host (host INGRESS)
 *   septum_host_out: its egress hook = packets the host sends (host EGRESS)
 *
 * Only the host's own traffic is judged: a packet whose destination (ingress) or source (egress) the ipcache gives
 * the host identity, or is link-local, multicast or broadcast (which only the host takes from, or sends on, its
 * own link); what the host forwards to or from endpoints passes here and meets their own programs. Non-IP frames
 * (ARP) and neighbour discovery pass; failsafe ports (septum_failsafe) pass whatever policy says. There is no load
 * balancing and no L7 redirection on the host: a REDIRECT entry (L7 rules, which the policy compiler refuses in
 * host policies) drops, fail closed.
 */
static __always_inline int host_link_scope(const __u8 *a)
{
	/* IPv4, stored IPv4-mapped (::ffff:a.b.c.d): 169.254/16, 224/4, 255.255.255.255 */
	if (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0 && a[4] == 0 && a[5] == 0 && a[6] == 0 && a[7] == 0 &&
	    a[8] == 0 && a[9] == 0 && a[10] == 0xff && a[11] == 0xff)
		return (a[12] == 169 && a[13] == 254) || (a[12] & 0xf0) == 224 ||
		       (a[12] == 255 && a[13] == 255 && a[14] == 255 && a[15] == 255);
	/* IPv6: fe80::/10, ff00::/8 */
	return (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff;
}

static __always_inline int host_own(__u8 dir, const struct pkt *p)
{
	const __u8 *local = dir == SEPTUM_DIR_INGRESS ? p->daddr : p->saddr;

	return ipcache_identity(local) == HOST_IDENTITY || host_link_scope(local);
}

static __always_inline int host_failsafe(__u8 dir, const struct pkt *p)
{
	struct failsafe_key k = {.dir = dir, .proto = p->proto, .port = p->dport};

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return 0;
	return bpf_map_lookup_elem(&septum_failsafe, &k) != NULL;
}

static __always_inline int host_handle(struct __sk_buff *skb, __u8 dir)
{
	struct endpoint_value *ep;
	struct pkt p = {};
	__u32 ifindex = skb->ifindex;
	int ret;

	ep = bpf_map_lookup_elem(&septum_endpoints, &ifindex);
	if (!ep || !(ep->flags & EP_F_HOST))
		return TC_ACT_OK; /* not (or no longer) a host interface */

	ret = parse_packet(skb, &p);
	if (ret == PARSE_ALWAYS_PASS || ret == PARSE_NOT_IP)
		return TC_ACT_OK; /* ARP, neighbour discovery, other protocols: the host's network must keep working */
	if (ret == PARSE_IP && !host_own(dir, &p))
		return TC_ACT_OK; /* forwarded traffic: the endpoints' programs judge it */

	ret = verdict_parsed(ep, dir, &p, ifindex, ret, ret == PARSE_IP && host_failsafe(dir, &p),
			     DROP_PROXY_UNAVAILABLE);
	return ret < 0 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int septum_host_in(struct __sk_buff *skb)
{
	return host_handle(skb, SEPTUM_DIR_INGRESS);
}

SEC("tc")
int septum_host_out(struct __sk_buff *skb)
{
	return host_handle(skb, SEPTUM_DIR_EGRESS);
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

	if (skb->mark != PROXY_REDIRECT_MARK)
		return TC_ACT_OK;
	if (parse_packet(skb, &p) != PARSE_IP)
		return TC_ACT_SHOT;
	if (proxy_sk_assign_any(skb, &p))
		return TC_ACT_SHOT; /* fail closed: the proxy is gone */
	return TC_ACT_OK;
}

char _license[] SEC("license") = "Dual BSD/GPL";
