/* SPDX-License-Identifier: Apache-2.0 */
/* Packet parsing, the one parser of both objects: Ethernet (tc) or bare IP (cgroup_skb), IPv4/IPv6 and the L4
 * ports, with a bounds check before every header access. */
#ifndef SEPTUM_PARSE_H
#define SEPTUM_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "drop.h"

#define ETH_P_ARP_ 0x0806
#define IPV6_MAX_EXT 4

/* What parse_packet found besides the tuple. */
#define PARSE_IP 0
#define PARSE_ALWAYS_PASS 1 /* ARP, IPv6 neighbour discovery */
#define PARSE_NOT_IP 2

#define ICMP_KIND_NONE 0
#define ICMP_KIND_ECHO_REQUEST 1
#define ICMP_KIND_ECHO_REPLY 2
#define ICMP_KIND_OTHER 3

struct pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	/* Connection-tracking ports, host order. ICMP echo: request = (id, 0), reply = (0, id), so that the
	 * reversed tuple of a reply is the tuple of its request. */
	__u16 sport;
	__u16 dport;
	/* Port the policy looks at: the destination port, the type for ICMP, 0 for fragments without an L4 header. */
	__u16 policy_port;
	__u8 proto;
	__u8 family;
	__u8 tcp_flags;
	__u8 icmp_kind;
};

static __always_inline void set_v4_mapped(__u8 *dst, __be32 addr)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &addr, 4);
}

static __always_inline int parse_l4(void *l4, void *data_end, struct pkt *p)
{
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return DROP_INVALID;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		p->policy_port = p->dport;
		p->tcp_flags = ((__u8 *)th)[13];
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return DROP_INVALID;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		p->policy_port = p->dport;
	} else if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
		/* type, code, checksum, id, sequence */
		__u8 *ih = l4;
		__u8 type;
		__u16 id;

		if ((void *)(ih + 8) > data_end)
			return DROP_INVALID;
		type = ih[0];
		id = ((__u16)ih[4] << 8) | ih[5];
		p->policy_port = type; /* icmps rules: the policy key's port is the message type, as in Cilium */
		if (p->proto == IPPROTO_ICMPV6 && type >= 133 && type <= 137)
			return PARSE_ALWAYS_PASS; /* router/neighbour solicitation and advertisement, redirect */
		if (p->proto == IPPROTO_ICMPV6 && (type == 130 || type == 131 || type == 132 || type == 143))
			return PARSE_ALWAYS_PASS; /* multicast listener discovery, which neighbour discovery needs */
		if ((p->proto == IPPROTO_ICMP && type == 8) || (p->proto == IPPROTO_ICMPV6 && type == 128)) {
			p->icmp_kind = ICMP_KIND_ECHO_REQUEST;
			p->sport = id;
		} else if ((p->proto == IPPROTO_ICMP && type == 0) || (p->proto == IPPROTO_ICMPV6 && type == 129)) {
			p->icmp_kind = ICMP_KIND_ECHO_REPLY;
			p->dport = id;
		} else {
			p->icmp_kind = ICMP_KIND_OTHER;
		}
	}
	return PARSE_IP;
}

/* IPv4 from its header on. Returns PARSE_* or a negative DROP_* code. */
static __always_inline int parse_ip4(void *l3, void *data_end, struct pkt *p)
{
	struct iphdr *ip = l3;
	__u32 ihl;

	if ((void *)(ip + 1) > data_end)
		return DROP_INVALID;
	ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip))
		return DROP_INVALID;
	p->family = 4;
	p->proto = ip->protocol;
	set_v4_mapped(p->saddr, ip->saddr);
	set_v4_mapped(p->daddr, ip->daddr);
	/* A non-first fragment carries no L4 header: it is judged with port 0, which only a
	 * whole-protocol entry allows (fails closed for port-specific rules). */
	if (bpf_ntohs(ip->frag_off) & 0x1fff)
		return PARSE_IP;
	return parse_l4(l3 + ihl, data_end, p);
}

/* IPv6 from its header on, through up to IPV6_MAX_EXT extension headers. Returns PARSE_* or a DROP_* code. */
static __always_inline int parse_ip6(void *l3, void *data_end, struct pkt *p)
{
	struct ipv6hdr *ip6 = l3;
	__u8 *l4;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return DROP_INVALID;
	l4 = (void *)(ip6 + 1);
	nexthdr = ip6->nexthdr;
	p->family = 6;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	/* Deeper chains are judged by the header they stop at, with port 0, which only whole-protocol entries
	 * allow (fails closed). */
#pragma unroll
	for (i = 0; i < IPV6_MAX_EXT; i++) {
		if (nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING || nexthdr == IPPROTO_DSTOPTS) {
			if ((void *)(l4 + 2) > data_end)
				return DROP_INVALID;
			nexthdr = l4[0];
			l4 += ((__u32)l4[1] + 1) * 8;
		} else if (nexthdr == IPPROTO_FRAGMENT) {
			if ((void *)(l4 + 8) > data_end)
				return DROP_INVALID;
			nexthdr = l4[0];
			p->proto = nexthdr;
			if ((((__u16)l4[2] << 8) | l4[3]) & 0xfff8)
				return PARSE_IP; /* not the first fragment: no L4 header */
			l4 += 8;
		} else {
			break;
		}
	}
	p->proto = nexthdr;
	return parse_l4(l4, data_end, p);
}

/* A frame from its Ethernet header on (tc programs). Returns PARSE_* or a negative DROP_* code. */
static __always_inline int parse_packet(struct __sk_buff *skb, struct pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return DROP_INVALID;
	proto = bpf_ntohs(eth->h_proto);
	if (proto == ETH_P_IP)
		return parse_ip4(eth + 1, data_end, p);
	if (proto == ETH_P_IPV6)
		return parse_ip6(eth + 1, data_end, p);
	if (proto == ETH_P_ARP_)
		return PARSE_ALWAYS_PASS;
	return PARSE_NOT_IP;
}

/* A packet from its IP header on (cgroup_skb programs): the version nibble tells the family. */
static __always_inline int parse_l3(struct __sk_buff *skb, struct pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 *first = data;

	if ((void *)(first + 1) > data_end)
		return DROP_INVALID;
	if ((*first >> 4) == 4)
		return parse_ip4(data, data_end, p);
	if ((*first >> 4) == 6)
		return parse_ip6(data, data_end, p);
	return PARSE_NOT_IP;
}

#endif
