/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ClusterIP load balancing, done in septum_from_ep on the client's veth, before its egress policy:
 *
 *   - a packet to a service frontend (vip, port, proto) gets a backend, picked at random among the service's
 *     slots on the first packet and then kept for the connection by the LB conntrack (septum_lb_ct), and is
 *     DNATed to it (address, port and destination MAC); from then on policy sees the backend and its identity;
 *   - septum_to_ep on the client's veth reverse-NATs the replies (septum_lb_rnat) so that they come from the VIP,
 *     but only those of a connection that went through the VIP: its conntrack entry carries CT_F_LB (set or cleared
 *     by each forward packet), since a later direct connection from the same client port to the same backend has
 *     the same tuple and must keep the backend's address;
 *   - a service without backends rejects at once: a TCP SYN gets a RST, anything else is dropped with reason 158
 *     ("Service backend not found");
 *   - ARP requests for a VIP are answered (the VIP lives on no interface), so that on-link clients can send to it.
 *
 * IPv4 only. Every key's addresses are IPv6 or IPv4-mapped (as in the ipcache), so IPv6 needs no map change.
 * Its maps and their key and value structs are in maps.h.
 */
#ifndef SEPTUM_LB_H
#define SEPTUM_LB_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "drop.h"
#include "parse.h"
#include "maps.h"
#include "conntrack.h"

#define LB_NOT_SERVICE 0
#define LB_TRANSLATED 1

/* The MAC the ARP responder gives every VIP: locally administered, never on a real interface. */
#define LB_VIP_MAC {0x02, 0x5e, 0x97, 0x00, 0x00, 0x01}

#define LB_IP_CSUM_OFF (ETH_HLEN + 10)
#define LB_IP_SRC_OFF (ETH_HLEN + 12)
#define LB_IP_DST_OFF (ETH_HLEN + 16)

static __always_inline __u16 lb_csum_fold(__s64 sum)
{
	__u64 s = (__u64)sum;

	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

static __always_inline __be32 lb_v4(const __u8 *mapped)
{
	__be32 a;

	__builtin_memcpy(&a, mapped + 12, 4);
	return a;
}

/* Rewrites the IPv4 source (dst = 0) or destination (dst = 1) address and port, fixing both checksums. */
static __always_inline int lb_nat4(struct __sk_buff *skb, __u8 proto, int dst, __be32 old_ip, __be32 new_ip,
				   __be16 old_port, __be16 new_port)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	__u64 mangled0 = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u32 l4_off, csum_off;

	if ((void *)(ip + 1) > data_end)
		return DROP_INVALID;
	l4_off = ETH_HLEN + ip->ihl * 4;
	csum_off = l4_off + (proto == IPPROTO_TCP ? 16 : 6);
	if (bpf_l4_csum_replace(skb, csum_off, old_ip, new_ip, BPF_F_PSEUDO_HDR | mangled0 | 4) < 0)
		return DROP_WRITE_ERROR;
	if (bpf_l3_csum_replace(skb, LB_IP_CSUM_OFF, old_ip, new_ip, 4) < 0)
		return DROP_WRITE_ERROR;
	if (bpf_skb_store_bytes(skb, dst ? LB_IP_DST_OFF : LB_IP_SRC_OFF, &new_ip, 4, 0) < 0)
		return DROP_WRITE_ERROR;
	if (old_port != new_port) {
		if (bpf_l4_csum_replace(skb, csum_off, old_port, new_port, mangled0 | 2) < 0)
			return DROP_WRITE_ERROR;
		if (bpf_skb_store_bytes(skb, l4_off + (dst ? 2 : 0), &new_port, 2, 0) < 0)
			return DROP_WRITE_ERROR;
	}
	return 0;
}

static __always_inline int lb_mac_set(const __u8 *mac)
{
	return mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5];
}

/* The reverse-NAT key of a connection between backend baddr:bport and client caddr:cport (addresses as in pkt). */
static __always_inline void lb_rnat_key_set(struct lb_rnat_key *rk, const __u8 *baddr, const __u8 *caddr,
					    __u16 bport, __u16 cport, __u8 proto)
{
	__builtin_memcpy(rk->baddr, baddr, 16);
	__builtin_memcpy(rk->caddr, caddr, 16);
	rk->bport = bport;
	rk->cport = cport;
	rk->proto = proto;
}

/*
 * Septum_from_ep, after the conntrack reply check: DNAT to the connection's backend. Returns LB_NOT_SERVICE,
 * LB_TRANSLATED (p now describes the packet as rewritten) or a negative DROP_* code.
 */
static __always_inline int lb_from_ep(struct __sk_buff *skb, struct pkt *p)
{
	struct lb_svc_key sk = {};
	struct lb_ct_key ck = {};
	struct lb_ct_value nv = {};
	struct lb_slot_key slot = {};
	struct lb_rnat_key rk = {};
	struct lb_rnat_value rv = {};
	struct lb_svc_value *svc;
	struct lb_ct_value *cv;
	struct lb_backend *be = NULL;
	__u32 backend_id = 0, *idp;
	__u8 mac[6];
	__u16 bport;
	int ret;

	if (p->family != 4 || (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) || !p->policy_port)
		return LB_NOT_SERVICE;
	__builtin_memcpy(sk.addr, p->daddr, 16);
	sk.port = p->dport;
	sk.proto = p->proto;
	svc = bpf_map_lookup_elem(&septum_lb_services, &sk);
	if (!svc)
		return LB_NOT_SERVICE;

	__builtin_memcpy(ck.saddr, p->saddr, 16);
	__builtin_memcpy(ck.vaddr, p->daddr, 16);
	ck.sport = p->sport;
	ck.vport = p->dport;
	ck.proto = p->proto;
	cv = bpf_map_lookup_elem(&septum_lb_ct, &ck);
	if (cv && cv->svc_id == svc->svc_id) {
		backend_id = cv->backend_id;
		be = bpf_map_lookup_elem(&septum_lb_backends, &backend_id);
	}
	if (!be) {
		/* new connection, or its backend was removed: pick again */
		if (svc->count == 0)
			return DROP_NO_SERVICE;
		slot.svc_id = svc->svc_id;
		slot.slot = bpf_get_prandom_u32() % svc->count + 1;
		idp = bpf_map_lookup_elem(&septum_lb_slots, &slot);
		if (!idp)
			return DROP_NO_SERVICE;
		backend_id = *idp;
		be = bpf_map_lookup_elem(&septum_lb_backends, &backend_id);
		if (!be)
			return DROP_NO_SERVICE;
		nv.backend_id = backend_id;
		nv.svc_id = svc->svc_id;
		bpf_map_update_elem(&septum_lb_ct, &ck, &nv, BPF_ANY);
	}

	lb_rnat_key_set(&rk, be->addr, p->saddr, be->port, p->sport, p->proto);
	if (!bpf_map_lookup_elem(&septum_lb_rnat, &rk)) {
		__builtin_memcpy(rv.vaddr, p->daddr, 16);
		rv.vport = p->dport;
		bpf_map_update_elem(&septum_lb_rnat, &rk, &rv, BPF_ANY);
	}

	bport = be->port;
	__builtin_memcpy(mac, be->mac, 6);
	ret = lb_nat4(skb, p->proto, 1, lb_v4(p->daddr), lb_v4(be->addr), bpf_htons(p->dport), bpf_htons(bport));
	if (ret < 0)
		return ret;
	/* on a shared L2 segment the frame must reach the backend, not the VIP's made-up MAC */
	if (lb_mac_set(mac) && bpf_skb_store_bytes(skb, 0, mac, 6, 0) < 0)
		return DROP_WRITE_ERROR;
	__builtin_memcpy(p->daddr, rk.baddr, 16);
	p->dport = bport;
	p->policy_port = bport;
	return LB_TRANSLATED;
}

/*
 * Septum_to_ep, on a packet that passes: a reply from a backend to its client (endpoint ep_id) gets the VIP back as
 * source, when the client's connection went through the VIP (CT_F_LB on its entry).
 */
static __always_inline int lb_rev_nat(struct __sk_buff *skb, const struct pkt *p, __u32 ep_id, __u64 now)
{
	struct lb_rnat_key rk = {};
	struct lb_rnat_value *rv;
	struct ct_key ck = {};
	struct ct_value *cv;
	__be32 vip;
	__u16 vport;

	if (p->family != 4 || (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) || !p->policy_port)
		return 0;
	ct_key_reverse(&ck, p, ep_id, SEPTUM_DIR_INGRESS);
	cv = ct_lookup_live(&ck, now);
	if (!cv || !(cv->flags & CT_F_LB))
		return 0;
	lb_rnat_key_set(&rk, p->saddr, p->daddr, p->sport, p->dport, p->proto);
	rv = bpf_map_lookup_elem(&septum_lb_rnat, &rk);
	if (!rv)
		return 0;
	vip = lb_v4(rv->vaddr);
	vport = rv->vport;
	return lb_nat4(skb, p->proto, 0, lb_v4(p->saddr), vip, bpf_htons(p->sport), bpf_htons(vport));
}

struct lb_ip4 {
	__u8 ver_ihl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__be32 saddr;
	__be32 daddr;
};

struct lb_tcp {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__u8 doff;
	__u8 flags;
	__be16 window;
	__u16 check;
	__be16 urg;
};

struct lb_pseudo {
	__be32 saddr;
	__be32 daddr;
	__u8 zero;
	__u8 proto;
	__be16 len;
};

#define LB_RST_LEN (ETH_HLEN + 20 + 20)

/*
 * A service without backends: answer a TCP SYN with a RST|ACK written over the SYN and handed straight to the
 * client's side of the veth (bpf_redirect_peer), so that connect() fails at once with ECONNREFUSED. Anything
 * else is dropped. The drop event (reason 158) is the caller's.
 */
static __always_inline int lb_reject(struct __sk_buff *skb, const struct pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	struct tcphdr *th = data + ETH_HLEN + sizeof(struct iphdr);
	struct lb_ip4 nip = {};
	struct lb_tcp nth = {};
	struct lb_pseudo ph = {};
	__u8 smac[6], dmac[6];
	__u32 seq, payload;
	__s64 sum;

	if (p->family != 4 || p->proto != IPPROTO_TCP || (p->tcp_flags & 0x16) != 0x02)
		return TC_ACT_SHOT; /* only a bare SYN (no ACK, no RST) gets a RST */
	if ((void *)(th + 1) > data_end || ip->ihl != 5)
		return TC_ACT_SHOT;
	__builtin_memcpy(smac, eth->h_source, 6);
	__builtin_memcpy(dmac, eth->h_dest, 6);
	payload = bpf_ntohs(ip->tot_len);
	if (payload < 20 + th->doff * 4)
		return TC_ACT_SHOT;
	payload -= 20 + th->doff * 4;
	seq = bpf_ntohl(th->seq);

	nip.ver_ihl = 0x45;
	nip.tot_len = bpf_htons(40);
	nip.frag_off = bpf_htons(0x4000);
	nip.ttl = 64;
	nip.protocol = IPPROTO_TCP;
	nip.saddr = ip->daddr;
	nip.daddr = ip->saddr;
	nth.source = th->dest;
	nth.dest = th->source;
	nth.ack_seq = bpf_htonl(seq + 1 + payload);
	nth.doff = 5 << 4;
	nth.flags = 0x14; /* RST, ACK */
	ph.saddr = nip.saddr;
	ph.daddr = nip.daddr;
	ph.proto = IPPROTO_TCP;
	ph.len = bpf_htons(20);

	sum = bpf_csum_diff(NULL, 0, (__be32 *)&nip, sizeof(nip), 0);
	if (sum < 0)
		return TC_ACT_SHOT;
	nip.check = lb_csum_fold(sum);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&ph, sizeof(ph), 0);
	if (sum < 0)
		return TC_ACT_SHOT;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&nth, sizeof(nth), sum);
	if (sum < 0)
		return TC_ACT_SHOT;
	nth.check = lb_csum_fold(sum);

	if (skb->len > LB_RST_LEN && bpf_skb_change_tail(skb, LB_RST_LEN, 0) < 0)
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, 0, smac, 6, 0) < 0 || bpf_skb_store_bytes(skb, 6, dmac, 6, 0) < 0
	    || bpf_skb_store_bytes(skb, ETH_HLEN, &nip, sizeof(nip), 0) < 0
	    || bpf_skb_store_bytes(skb, ETH_HLEN + 20, &nth, sizeof(nth), 0) < 0)
		return TC_ACT_SHOT;
	bpf_csum_level(skb, BPF_CSUM_LEVEL_RESET);
	/* the SYN was addressed to the VIP's made-up MAC, so the stack marked it for another host */
	bpf_skb_change_type(skb, PACKET_HOST);
	return bpf_redirect_peer(skb->ifindex, 0);
}

struct lb_arp {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
} __attribute__((packed));

/*
 * Septum_from_ep, for ARP: a request for a VIP is answered with LB_VIP_MAC and handed back to the asker.
 * Returns -1 when the packet is not such a request (the caller lets it pass).
 */
static __always_inline int lb_arp_respond(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct lb_arp *arp = data + ETH_HLEN;
	struct ipcache_key vk = {};
	struct lb_arp reply = {};
	__u8 vmac[6] = LB_VIP_MAC;

	if ((void *)(arp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_ARP))
		return -1;
	if (arp->op != bpf_htons(1) || arp->ptype != bpf_htons(ETH_P_IP) || arp->hlen != 6 || arp->plen != 4)
		return -1;
	vk.prefixlen = 128;
	vk.addr[10] = 0xff;
	vk.addr[11] = 0xff;
	__builtin_memcpy(vk.addr + 12, arp->tpa, 4);
	if (!bpf_map_lookup_elem(&septum_lb_vips, &vk))
		return -1;

	reply.htype = arp->htype;
	reply.ptype = arp->ptype;
	reply.hlen = 6;
	reply.plen = 4;
	reply.op = bpf_htons(2);
	__builtin_memcpy(reply.sha, vmac, 6);
	__builtin_memcpy(reply.spa, arp->tpa, 4);
	__builtin_memcpy(reply.tha, arp->sha, 6);
	__builtin_memcpy(reply.tpa, arp->spa, 4);
	if (bpf_skb_store_bytes(skb, 0, reply.tha, 6, 0) < 0 || bpf_skb_store_bytes(skb, 6, vmac, 6, 0) < 0
	    || bpf_skb_store_bytes(skb, ETH_HLEN, &reply, sizeof(reply), 0) < 0)
		return TC_ACT_SHOT;
	bpf_skb_change_type(skb, PACKET_HOST);
	return bpf_redirect_peer(skb->ifindex, 0);
}

#endif
