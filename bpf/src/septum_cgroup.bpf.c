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
 * endpoint. The verdict is lib/verdict.h's, the tc programs' own: conntrack, remote identity from the shared
 * ipcache, the shared policy map, audit, the same events. Return 1 passes, 0 drops.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "septum_event.h"
#include "lib/verdict.h"
#include "lib/cgroup.h"

#define CG_PASS 1
#define CG_DROP 0

static __always_inline int cg_handle(struct __sk_buff *skb, __u8 dir)
{
	struct endpoint_value *ep;
	struct pkt p = {};
	int ret;

	ep = cgroup_endpoint(skb);
	if (!ep)
		return CG_PASS; /* a socket of no endpoint cgroup (or one being removed) */

	ret = parse_l3(skb, &p);
	if (ret == PARSE_ALWAYS_PASS)
		return CG_PASS;
	/* no interface (ifindex 0): flows name the endpoint by its id. No proxy redirection at the socket layer: a
	 * REDIRECT entry (L7 rules) allows at L3/L4 */
	return verdict_parsed(ep, dir, &p, 0, ret, 0, 0) < 0 ? CG_DROP : CG_PASS;
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
