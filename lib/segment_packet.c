// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "segment_packet.h"

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "reasm.h"

size_t ts_segment_packet_build(struct ts_segment_packet *p, const void *data, size_t len, __u32 seq,
			       int fin)
{
	memset(p, 0, sizeof(*p));
	p->eth.h_proto = htons(ETH_P_IP);
	p->ip.version = 4;
	p->ip.ihl = sizeof(p->ip) / 4;
	p->ip.tot_len = htons((__u16)(sizeof(p->ip) + sizeof(p->tcp) + len));
	p->ip.ttl = 64;
	p->ip.protocol = IPPROTO_TCP;
	p->ip.saddr = htonl(0x7f000001);
	p->ip.daddr = htonl(0x7f000001);
	p->tcp.source = htons(40000);
	p->tcp.dest = htons(443);
	p->tcp.seq = htonl(seq);
	p->tcp.doff = sizeof(p->tcp) / 4;
	p->tcp.ack = 1;
	p->tcp.fin = !!fin;
	if (len)
		memcpy(p->payload, data, len);
	return sizeof(p->eth) + sizeof(p->ip) + sizeof(p->tcp) + len;
}

int ts_parse_test_reset(int reasm_map_fd, int tag_map_fd)
{
	static struct ts_reasm empty_reasm;
	struct ts_tag empty_tag = {};
	__u32 zero = 0;

	if (bpf_map_update_elem(reasm_map_fd, &zero, &empty_reasm, BPF_ANY) ||
	    bpf_map_update_elem(tag_map_fd, &zero, &empty_tag, BPF_ANY))
		return -errno;
	return 0;
}
