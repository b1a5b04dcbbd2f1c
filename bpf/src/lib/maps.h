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

/* Policy actions. */
#define POLICY_ALLOW 1
#define POLICY_DENY 2
#define POLICY_REDIRECT 3

/* Policy entry flags (policy_value.flags). AUDIT: from a policy in audit mode (lib/policy.h says what it does). */
#define POLICY_F_AUDIT 1

/* Index of septum_stats. */
#define STAT_EVENTS_EMITTED 0
#define STAT_EVENTS_LOST 1
#define STAT_MAX 4

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

struct ct_value {
	__u64 last_seen;
	__u32 flags;
	__u32 rule_id;
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

#endif
