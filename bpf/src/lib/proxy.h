/* SPDX-License-Identifier: Apache-2.0 */
/*
 * L7 redirection: connections that an HTTP rule governs are handed to the agent's transparent proxy.
 *
 * In septum_from_ep (the client's veth, tc ingress), after the client's egress policy passed: when the client's own
 * entry is REDIRECT, or the destination is a local endpoint whose ingress entry for (client identity, TCP, port) is
 * REDIRECT, the packet is assigned to the proxy's socket (bpf_sk_assign: the accepted socket, else the listener on
 * the proxy port) and marked, so that the policy-routing rule the agent installs (fwmark PROXY_REDIRECT_MARK ->
 * table with "local default dev lo") delivers it locally although it is addressed to the endpoint. The accepted
 * socket's local address is then the original destination. No listener (agent down, proxy failed): drop (fail
 * closed). The destination's own ingress verdict is taken first: the proxy's upstream leg skips it. The frame's
 * destination MAC becomes the host interface's own, so that a bridge passes it up instead of forwarding it.
 *
 * DNS rules redirect UDP queries the same way to the DNS proxy's transparent UDP socket (bpf_sk_lookup_udp on its
 * port, then bpf_sk_assign); it answers from the original destination's address, so the answer is the reply the
 * client's connection tracking expects.
 *
 * In septum_to_ep, the proxy's upstream leg (SO_MARK PROXY_UPSTREAM_MARK; only root can set marks) is let in
 * without the ingress check. A REDIRECT entry hit by anything else (a client on another node, the host, the world:
 * sources that no septum_from_ep of this node redirected) is handed to the proxy there: the frame, addressed to the
 * bridge and marked, is redirected to the bridge's ingress, where septum_to_proxy assigns the proxy's socket. An
 * interface that is no bridge port has nowhere to send it: dropped (fail closed).
 */
#ifndef SEPTUM_PROXY_H
#define SEPTUM_PROXY_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "parse.h"
#include "policy.h"
#include "conntrack.h"

/* Mirrors io.septum.datapath.ebpf.internal.EbpfDatapath.PROXY_REDIRECT_MARK and Datapath.PROXY_UPSTREAM_MARK. */
#define PROXY_REDIRECT_MARK 0x5e970001
#define PROXY_UPSTREAM_MARK 0x5e970002

#ifndef BPF_F_CURRENT_NETNS
#define BPF_F_CURRENT_NETNS (-1L)
#endif

/*
 * Whether this new (non-reply) egress packet goes to the proxy. The destination endpoint's ingress verdict comes
 * first: a deny, or no allow where ingress is enforced, is never redirected (septum_to_ep drops it as usual), unless
 * audit mode (the endpoint's or the deciding entry's) lets it pass there: then the client's own rules decide.
 * Sets *rule_id to the redirecting entry's rule when it is the destination's.
 */
static __always_inline int proxy_wanted(const struct endpoint_value *ep, const struct pkt *p,
					const struct policy_result *own, __u32 *rule_id)
{
	struct policy_result dst = {};
	struct lxc_value *lxc;
	struct endpoint_value *dep;
	struct lxc_key k;
	int audited;

	__builtin_memcpy(k.addr, p->daddr, 16);
	lxc = bpf_map_lookup_elem(&septum_lxc, &k);
	if (lxc) {
		__u32 ifindex = lxc->ifindex;

		dep = bpf_map_lookup_elem(&septum_endpoints, &ifindex);
		policy_decide(lxc->ep_id, ep->identity, SEPTUM_DIR_INGRESS, p, &dst);
		/* an audited drop is no drop (the destination lets it pass as AUDIT, for its endpoint's audit mode or the
		 * deciding entry's): the client's own rules still apply */
		audited = dst.audit || (dep && (dep->flags & EP_F_AUDIT));
		if (dst.action == POLICY_DENY && !audited)
			return 0;
		if (dst.action == POLICY_REDIRECT) {
			*rule_id = dst.rule_id;
			return 1;
		}
		if (dst.action == 0 && !audited && dep && (dep->flags & EP_F_INGRESS_ENFORCED))
			return 0;
	}
	return own->action == POLICY_REDIRECT;
}

/* The packet's tuple as a socket lookup wants it; returns its length. */
static __always_inline __u32 proxy_tuple(const struct pkt *p, struct bpf_sock_tuple *t)
{
	if (p->family == 4) {
		__builtin_memcpy(&t->ipv4.saddr, p->saddr + 12, 4);
		__builtin_memcpy(&t->ipv4.daddr, p->daddr + 12, 4);
		t->ipv4.sport = bpf_htons(p->sport);
		t->ipv4.dport = bpf_htons(p->dport);
		return sizeof(t->ipv4);
	}
	__builtin_memcpy(t->ipv6.saddr, p->saddr, 16);
	__builtin_memcpy(t->ipv6.daddr, p->daddr, 16);
	t->ipv6.sport = bpf_htons(p->sport);
	t->ipv6.dport = bpf_htons(p->dport);
	return sizeof(t->ipv6);
}

/* The tuple t (proxy_tuple) with its destination port replaced by port: the proxy's listener or socket. */
static __always_inline void proxy_tuple_dport(const struct pkt *p, struct bpf_sock_tuple *t, __u16 port)
{
	if (p->family == 4)
		t->ipv4.dport = bpf_htons(port);
	else
		t->ipv6.dport = bpf_htons(port);
}

/* Assigns the packet to sk and releases sk; 0, or DROP_PROXY_UNAVAILABLE when the kernel refuses. */
static __always_inline int proxy_sk_assign_release(struct __sk_buff *skb, struct bpf_sock *sk)
{
	long ret = bpf_sk_assign(skb, sk, 0);

	bpf_sk_release(sk);
	return ret ? DROP_PROXY_UNAVAILABLE : 0;
}

/* Assigns the packet to the proxy's socket: the accepted one under the original tuple, else the listener. */
static __always_inline int proxy_sk_assign(struct __sk_buff *skb, const struct pkt *p, __u16 port)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 len = proxy_tuple(p, &t);

	/* a connection the proxy accepted already (or is accepting) has its own socket under the original tuple */
	sk = bpf_skc_lookup_tcp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	if (sk) {
		if (sk->state != BPF_TCP_LISTEN)
			return proxy_sk_assign_release(skb, sk);
		bpf_sk_release(sk); /* a host listener on the original port is not the proxy */
	}
	proxy_tuple_dport(p, &t, port);
	sk = bpf_skc_lookup_tcp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return DROP_PROXY_UNAVAILABLE;
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		return DROP_PROXY_UNAVAILABLE;
	}
	return proxy_sk_assign_release(skb, sk);
}

static __always_inline __u16 proxy_port(void)
{
	__u32 zero = 0;
	struct proxy_config *cfg = bpf_map_lookup_elem(&septum_proxy, &zero);

	return cfg ? cfg->port : 0;
}

static __always_inline __u16 proxy_dns_port(void)
{
	__u32 zero = 0;
	struct proxy_config *cfg = bpf_map_lookup_elem(&septum_proxy, &zero);

	return cfg ? cfg->dns_port : 0;
}

/* Assigns a UDP query to the DNS proxy's socket (bound to the wildcard address on its port). */
static __always_inline int proxy_sk_assign_udp(struct __sk_buff *skb, const struct pkt *p, __u16 port)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 len = proxy_tuple(p, &t);

	proxy_tuple_dport(p, &t, port);
	sk = bpf_sk_lookup_udp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return DROP_PROXY_UNAVAILABLE;
	return proxy_sk_assign_release(skb, sk);
}

/* The socket of the proxy that speaks the packet's protocol: HTTP over TCP, DNS over UDP; else fail closed. */
static __always_inline int proxy_sk_assign_any(struct __sk_buff *skb, const struct pkt *p)
{
	__u16 port;

	if (p->proto == IPPROTO_TCP) {
		port = proxy_port();
		return port ? proxy_sk_assign(skb, p, port) : DROP_PROXY_UNAVAILABLE;
	}
	if (p->proto == IPPROTO_UDP) {
		port = proxy_dns_port();
		return port ? proxy_sk_assign_udp(skb, p, port) : DROP_PROXY_UNAVAILABLE;
	}
	return DROP_PROXY_UNAVAILABLE;
}

/*
 * Hands the packet to the proxy; 0 or DROP_PROXY_UNAVAILABLE. The socket assigned here reaches TCP when the veth is
 * routed; a bridge drops it on the way up, so the bridge's own ingress (septum_to_proxy) assigns it again.
 */
static __always_inline int proxy_assign(struct __sk_buff *skb, const struct pkt *p)
{
	struct if_mac *mac;
	__u32 ifindex;
	int ret;

	/* HTTP rules govern TCP, DNS rules UDP: anything else fails closed */
	ret = proxy_sk_assign_any(skb, p);
	if (ret)
		return ret;
	skb->mark = PROXY_REDIRECT_MARK;
	/* Addressed at L2 to the host (the bridge's address when the interface is a bridge port), so that a bridge
	 * passes the frame up to the host's stack instead of forwarding it to the destination endpoint. */
	ifindex = skb->ifindex;
	mac = bpf_map_lookup_elem(&septum_ifmac, &ifindex);
	if (!mac)
		return DROP_PROXY_UNAVAILABLE;
	if (bpf_skb_store_bytes(skb, 0, mac->mac, 6, 0))
		return DROP_PROXY_UNAVAILABLE;
	/* the veth classified the frame by its old address (PACKET_OTHERHOST), which IP would drop */
	if (bpf_skb_change_type(skb, 0 /* PACKET_HOST */))
		return DROP_PROXY_UNAVAILABLE;
	return 0;
}

/*
 * septum_to_ep's half of the redirection: TC_ACT_REDIRECT to the ingress of the bridge the interface is a port of,
 * with the frame addressed to the bridge and marked for septum_to_proxy; or DROP_PROXY_UNAVAILABLE.
 */
static __always_inline int proxy_redirect_ingress(struct __sk_buff *skb, const struct pkt *p)
{
	struct if_mac *mac;
	__u32 ifindex = skb->ifindex;

	if (p->proto != IPPROTO_TCP || !proxy_port())
		return DROP_PROXY_UNAVAILABLE;
	mac = bpf_map_lookup_elem(&septum_ifmac, &ifindex);
	if (!mac || !mac->master)
		return DROP_PROXY_UNAVAILABLE;
	if (bpf_skb_store_bytes(skb, 0, mac->mac, 6, 0))
		return DROP_PROXY_UNAVAILABLE;
	skb->mark = PROXY_REDIRECT_MARK;
	return bpf_redirect(mac->master, BPF_F_INGRESS);
}

/*
 * Whether a packet entering an endpoint belongs to a socket of this host instead: the proxy's upstream leg towards
 * an endpoint of another node leaves from the client's own address (a transparent source, so that the other node
 * sees the client's identity), and that leg's answers come back addressed to the client. tracked: the packet's
 * connection has a live entry of the endpoint's (the caller looked it up: a tracked packet is the endpoint's own).
 * Only a TCP packet with ACK that no connection of the endpoint tracks (the first answer of such a leg, or an entry
 * that expired) costs a socket lookup.
 */
static __always_inline int proxy_owns(struct __sk_buff *skb, const struct pkt *p, int tracked)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 len;
	int owned;

	if (tracked || p->proto != IPPROTO_TCP || !(p->tcp_flags & 0x10 /* ACK */))
		return 0;
	len = proxy_tuple(p, &t);
	sk = bpf_skc_lookup_tcp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	owned = sk->state != BPF_TCP_LISTEN;
	bpf_sk_release(sk);
	return owned;
}

static __always_inline int proxy_upstream_leg(const struct __sk_buff *skb)
{
	return skb->mark == PROXY_UPSTREAM_MARK;
}

#endif
