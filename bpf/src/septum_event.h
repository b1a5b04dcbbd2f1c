/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event record that the tc programs write into the septum_events ring buffer.
 *
 * This header is the contract with the Java reader (io.septum.datapath.ebpf.internal.Structs.Event);
 * a JUnit test compares the Java mirror with this struct's BTF, field by field. Layout (x86-64, little endian):
 *
 *   off size field
 *     0    8 timestamp     bpf_ktime_get_ns() (CLOCK_MONOTONIC, same clock as Java's System.nanoTime())
 *     8    1 type          SEPTUM_EVENT_POLICY_VERDICT (1) or SEPTUM_EVENT_DROP (2)
 *     9    1 direction     SEPTUM_DIR_INGRESS (1) or SEPTUM_DIR_EGRESS (2), from the endpoint's view
 *    10    1 verdict       SEPTUM_VERDICT_* below
 *    11    1 family        4 or 6
 *    12    1 proto         IP protocol number
 *    13    1 tcp_flags     TCP header flag byte (FIN=1 SYN=2 RST=4 PSH=8 ACK=16), 0 for other protocols
 *    14    1 reply         1 when the packet is a reply of a tracked connection
 *    15    1 pad
 *    16    2 drop_reason   io.septum.api.datapath.DropReason code, 0 when forwarded
 *    18    2 sport         host byte order (ICMP: echo id for requests, 0 otherwise)
 *    20    2 dport         host byte order
 *    22    2 pad2
 *    24    4 ep_id         endpoint id of the interface that saw the packet
 *    28    4 src_identity
 *    32    4 dst_identity
 *    36    4 rule_id       rule of the policy entry that decided, 0 for the default verdict
 *    40    4 ifindex       host-side interface index
 *    44    4 pad3
 *    48   16 saddr         IPv6, or IPv4-mapped IPv6 (::ffff:a.b.c.d)
 *    64   16 daddr
 *   size 80
 */
#ifndef SEPTUM_EVENT_H
#define SEPTUM_EVENT_H

#include <linux/types.h>

#define SEPTUM_EVENT_POLICY_VERDICT 1
#define SEPTUM_EVENT_DROP 2

#define SEPTUM_DIR_INGRESS 1
#define SEPTUM_DIR_EGRESS 2

#define SEPTUM_VERDICT_FORWARDED 1
#define SEPTUM_VERDICT_DROPPED 2
#define SEPTUM_VERDICT_AUDIT 3
#define SEPTUM_VERDICT_REDIRECTED 4

struct septum_event {
	__u64 timestamp;
	__u8 type;
	__u8 direction;
	__u8 verdict;
	__u8 family;
	__u8 proto;
	__u8 tcp_flags;
	__u8 reply;
	__u8 pad;
	__u16 drop_reason;
	__u16 sport;
	__u16 dport;
	__u16 pad2;
	__u32 ep_id;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 rule_id;
	__u32 ifindex;
	__u32 pad3;
	__u8 saddr[16];
	__u8 daddr[16];
};

#endif
