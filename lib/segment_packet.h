/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packets for the tagger's BPF_PROG_TEST_RUN entries: one IPv4/TCP segment
 * whose sequence number is the stream offset of its bytes (the convention of
 * ts_parse_test), and the reset of that entry's state maps.
 */
#ifndef TS_SEGMENT_PACKET_H
#define TS_SEGMENT_PACKET_H

#include <stddef.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>

/* BPF_PROG_TEST_RUN takes about a page of packet; keep payloads below it. */
#define TS_SEGMENT_PAYLOAD_MAX 3000

struct ts_segment_packet {
	struct ethhdr eth;
	struct iphdr ip;
	struct tcphdr tcp;
	__u8 payload[TS_SEGMENT_PAYLOAD_MAX];
} __attribute__((packed));

/* Fills p with len (<= TS_SEGMENT_PAYLOAD_MAX) bytes at stream offset seq.
 * Returns the packet's size. */
size_t ts_segment_packet_build(struct ts_segment_packet *p, const void *data, size_t len, __u32 seq,
			       int fin);

/* Empties ts_parse_test's state (the test_reasm and test_tag maps). 0 or -errno. */
int ts_parse_test_reset(int reasm_map_fd, int tag_map_fd);

#endif /* TS_SEGMENT_PACKET_H */
