/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every map of the datapath, in one place. All are pinned by name (the agent sets each pin path to
 * ${septum.bpf.dir}/<name>), so that enforcement state outlives the agent. The Java mirrors of the key and
 * value structs are checked against this file's BTF by a test: change both sides together.
 */
#ifndef SEPTUM_MAPS_H
#define SEPTUM_MAPS_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include "../septum_event.h"

/* Endpoint flags (io.septum.api.datapath.BpfEndpoint). */
#define EP_F_INGRESS_ENFORCED 1
#define EP_F_EGRESS_ENFORCED 2
#define EP_F_AUDIT 4
/* The host itself, on one of its own interfaces (septum_host_in/out): the host firewall. */
#define EP_F_HOST 8

/* Policy actions. */
#define POLICY_ALLOW 1
#define POLICY_DENY 2
#define POLICY_REDIRECT 3

/* Policy entry flags (policy_value.flags). AUDIT: from a policy in audit mode (lib/policy.h says what it does). */
#define POLICY_F_AUDIT 1

/* Index of septum_stats. */
#define STAT_EVENTS_EMITTED 0
#define STAT_EVENTS_LOST 1
/* Packets that passed on their connection's conntrack entry alone (lib/verdict.h, verdict_established). */
#define STAT_CT_FAST 2
#define STAT_MAX 4

#define HOST_IDENTITY 1
#define WORLD_IDENTITY 2

/* IPv4 is stored IPv4-mapped (::ffff:a.b.c.d, prefixlen 96 + len), so one trie serves both families. */
struct ipcache_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct ipcache_value {
	__u32 identity;
	__u32 flags;
};

struct endpoint_value {
	__u32 ep_id;
	__u32 identity;
	__u32 flags;
};

/*
 * Data fields are big-endian so that the trie's prefix bits run ep_id, identity, dir, proto, dport:
 * prefixlen 72 = any protocol and port, 80 = one protocol, any port, 80 + n = a port prefix of n bits.
 */
struct policy_key {
	__u32 prefixlen;
	__u32 ep_id;
	__u32 identity;
	__u8 dir;
	__u8 proto;
	__u16 dport;
};

struct policy_value {
	__u8 action;
	__u8 flags;
	__u16 proxy_port;
	__u32 rule_id;
};

struct policy_stats_key {
	__u32 ep_id;
	__u32 rule_id;
	__u8 dir;
	__u8 pad[3];
};

/* The original direction of a connection as the endpoint ep_id saw it (dir: SEPTUM_DIR_*). */
struct ct_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 dir;
	__u16 pad;
	__u32 ep_id;
};

#define CT_F_AUDIT 1
/* The connection went through a service frontend (lb_from_ep DNATed it): its replies get the VIP back. */
#define CT_F_LB 2

/*
 * epoch: the policy epoch (septum_epoch) under which a policy verdict last let the connection pass as plain
 * FORWARDED, or 0 for a connection whose packets must each be judged (audit, L7 redirection, the proxy's own leg,
 * failsafe ports).
 */
struct ct_value {
	__u64 last_seen;
	__u32 flags;
	__u32 rule_id;
	__u32 epoch;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct ipcache_key);
	__type(value, struct ipcache_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct endpoint_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 262144);
	__type(key, struct policy_key);
	__type(value, struct policy_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct policy_stats_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_policy_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct ct_key);
	__type(value, struct ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_ct SEC(".maps");

/*
 * The policy epoch, one value: the agent moves it on (never to 0) after every change to a map that a policy verdict
 * reads, so that a conntrack entry made under an earlier one no longer stands for a verdict (lib/verdict.h).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE); /* the agent stores it with one aligned 4-byte write: never read torn */
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_epoch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_stats SEC(".maps");

/*
 * Never read or written: it exists so that struct septum_event, which the ring buffer carries as bytes,
 * appears in the object's BTF for the Java layout check. Not pinned.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct septum_event);
} septum_event_btf SEC(".maps");

/* ---- Load balancing (lib/lb.h) ---- */

/* Frontend: port in host order. */
struct lb_svc_key {
	__u8 addr[16];
	__u16 port;
	__u8 proto;
	__u8 pad;
};

/* count = number of slots (1..count) in septum_lb_slots; 0 = no backend: reject. */
struct lb_svc_value {
	__u32 svc_id;
	__u16 count;
	__u16 flags;
};

struct lb_slot_key {
	__u32 svc_id;
	__u32 slot;
};

/* A backend of one service (ids are never shared between services). mac all zero = keep the packet's. */
struct lb_backend {
	__u8 addr[16];
	__u16 port;
	__u8 mac[6];
};

/* A client connection to a frontend, as the client sent it. */
struct lb_ct_key {
	__u8 saddr[16];
	__u8 vaddr[16];
	__u16 sport;
	__u16 vport;
	__u8 proto;
	__u8 pad[3];
};

struct lb_ct_value {
	__u32 backend_id;
	__u32 svc_id;
};

/* A reply as the backend sends it: backend -> client. */
struct lb_rnat_key {
	__u8 baddr[16];
	__u8 caddr[16];
	__u16 bport;
	__u16 cport;
	__u8 proto;
	__u8 pad[3];
};

struct lb_rnat_value {
	__u8 vaddr[16];
	__u16 vport;
	__u16 pad;
};

struct lb_vip_value {
	__u32 services;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct lb_svc_key);
	__type(value, struct lb_svc_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_lb_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct lb_slot_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_lb_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct lb_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_lb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct lb_ct_key);
	__type(value, struct lb_ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_lb_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct lb_rnat_key);
	__type(value, struct lb_rnat_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_lb_rnat SEC(".maps");

/* Frontend addresses (IPv4-mapped), for the ARP responder. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ipcache_key);
	__type(value, struct lb_vip_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_lb_vips SEC(".maps");

/* ---- L7 proxy redirection (lib/proxy.h) ---- */

/* The only entry (key 0) of septum_proxy: the HTTP proxy's TCP port and the DNS proxy's UDP port, 0 = none. */
struct proxy_config {
	__u16 port;
	__u16 dns_port;
	__u32 pad2;
};

/* An endpoint address (IPv4-mapped or IPv6) -> the endpoint, so that a client's program can read the
 * destination endpoint's ingress policy. */
struct lxc_key {
	__u8 addr[16];
};

struct lxc_value {
	__u32 ep_id;
	__u32 ifindex;
};

/*
 * The MAC address that makes the host take a frame from an endpoint's host-side interface (key: its ifindex): the
 * bridge's when the interface is a bridge port, else its own; master is that bridge's ifindex, 0 without one.
 */
struct if_mac {
	__u8 mac[6];
	__u16 pad;
	__u32 master;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct if_mac);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_ifmac SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proxy_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_proxy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct lxc_key);
	__type(value, struct lxc_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_lxc SEC(".maps");

/*
 * The host firewall's failsafe ports (key: direction, protocol, destination port in host order): a packet of the
 * host's own traffic that matches one passes whatever policy says, so that no host policy locks the operator out.
 */
struct failsafe_key {
	__u8 dir;
	__u8 proto;
	__u16 port;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct failsafe_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_failsafe SEC(".maps");

/* ---- cgroup endpoints (septum_cgroup.bpf.c): cgroup id (the cgroup directory's inode number) -> endpoint ---- */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct endpoint_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} septum_cgroup_endpoints SEC(".maps");

#endif
