// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Differential libFuzzer harness: each input goes through the userspace
 * build of the ClientHello parser and through the BPF program in the kernel
 * (the tagger's ts_parse_test entry, BPF_PROG_TEST_RUN once per TCP
 * segment), and any difference in status, SNI, ALPN, records or bytes is a
 * crash. The first input byte chooses the segment size (bits 0-2), in-order
 * or pair-swapped arrival (bit 3; an empty FIN segment then ends the
 * stream) and whether every segment is also retransmitted (bit 4); the rest
 * is the client's stream. Needs root.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "hello.h"
#include "reasm.h"
#include "tagger.skel.h"

/* Stream bytes beyond the reassembly bound, so too-big is reached. */
#define STREAM_MAX (TS_HELLO_MAX + 1024)
/* A BPF_PROG_TEST_RUN packet stays within a page. */
#define SEGMENT_MAX 2900
/* Runs per input are bounded so that one input costs milliseconds. */
#define SEGMENTS_MAX 96

struct packet {
	struct ethhdr eth;
	struct iphdr ip;
	struct tcphdr tcp;
	uint8_t payload[SEGMENT_MAX];
} __attribute__((packed));

static const size_t segment_sizes[8] = { 1460, 536, 1, 17, 100, 512, 1000, SEGMENT_MAX };

static struct tagger_bpf *skel;
static int prog_fd;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	libbpf_set_print(NULL);
	skel = tagger_bpf__open();
	check(skel);
	bpf_program__set_autoload(skel->progs.ts_tagger, false);
	if (tagger_bpf__load(skel)) {
		fprintf(stderr, "fuzz_differential: cannot load the tagger (needs root): %s\n",
			strerror(errno));
		exit(1);
	}
	prog_fd = bpf_program__fd(skel->progs.ts_parse_test);
	return 0;
}

static void reset_state(void)
{
	static struct ts_reasm empty_reasm;
	struct ts_tag empty_tag = {};
	uint32_t zero = 0;

	check(!bpf_map__update_elem(skel->maps.test_reasm, &zero, sizeof(zero), &empty_reasm,
				    sizeof(empty_reasm), BPF_ANY));
	check(!bpf_map__update_elem(skel->maps.test_tag, &zero, sizeof(zero), &empty_tag,
				    sizeof(empty_tag), BPF_ANY));
}

/* Runs one segment (stream offset in the sequence number); returns the tag. */
static void run_segment(const uint8_t *data, size_t off, size_t len, int fin, struct ts_tag *t)
{
	static struct packet pkt;
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	size_t l3 = sizeof(pkt.ip) + sizeof(pkt.tcp) + len;
	uint32_t zero = 0;

	memset(&pkt, 0, sizeof(pkt));
	pkt.eth.h_proto = htons(ETH_P_IP);
	pkt.ip.version = 4;
	pkt.ip.ihl = sizeof(pkt.ip) / 4;
	pkt.ip.tot_len = htons((uint16_t)l3);
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_TCP;
	pkt.ip.saddr = pkt.ip.daddr = htonl(INADDR_LOOPBACK);
	pkt.tcp.source = htons(40000);
	pkt.tcp.dest = htons(443);
	pkt.tcp.seq = htonl((uint32_t)off);
	pkt.tcp.doff = sizeof(pkt.tcp) / 4;
	pkt.tcp.ack = 1;
	pkt.tcp.fin = fin;
	memcpy(pkt.payload, data + off, len);
	opts.data_in = &pkt;
	opts.data_size_in = (uint32_t)(sizeof(pkt.eth) + l3);
	check(bpf_prog_test_run_opts(prog_fd, &opts) == 0);
	check(!bpf_map__lookup_elem(skel->maps.test_tag, &zero, sizeof(zero), t, sizeof(*t), 0));
}

static void parse_in_kernel(const uint8_t *data, size_t len, size_t seg, int swapped,
			    int twice, struct ts_tag *t)
{
	size_t nseg = len ? (len + seg - 1) / seg : 1;

	reset_state();
	for (size_t k = 0; k < nseg; k++) {
		/* swapped: 1 0 3 2 5 4 ... (a lone last segment stays last) */
		size_t i = swapped ? (k ^ 1) < nseg ? k ^ 1 : k : k;
		size_t off = i * seg, n = len - off < seg ? len - off : seg;
		int fin = !swapped && i == nseg - 1;

		/* twice: every data segment retransmitted at once, FIN on the copy */
		if (twice && n) {
			run_segment(data, off, n, 0, t);
			if (t->status != TS_STATUS_PENDING)
				return;
		}
		run_segment(data, off, n, fin, t);
		if (t->status != TS_STATUS_PENDING)
			return;
	}
	if (swapped)
		run_segment(data, len, 0, 1, t);
}

static void check_same(const struct ts_tag *u, const struct ts_tag *k)
{
	size_t alpn = u->alpn_len < TS_ALPN_SIZE ? u->alpn_len : TS_ALPN_SIZE;

	if (u->status != k->status)
		fprintf(stderr, "status: userspace %u, kernel %u\n", u->status, k->status);
	check(u->status == k->status);
	check(u->sni_len == k->sni_len && !memcmp(u->sni, k->sni, u->sni_len));
	check(u->alpn_len == k->alpn_len && !memcmp(u->alpn, k->alpn, alpn));
	check(u->records == k->records);
	check(u->bytes == k->bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ts_tag user, kern;
	size_t seg;
	int swapped, twice;

	if (len < 1 || len - 1 > STREAM_MAX)
		return 0;
	seg = segment_sizes[data[0] & 7];
	swapped = (data[0] & 8) != 0;
	twice = (data[0] & 16) != 0;
	data++;
	len--;
	if (len / seg >= SEGMENTS_MAX)
		seg = len / SEGMENTS_MAX + 1;
	ts_hello_parse_bytes(data, len, &user);
	parse_in_kernel(data, len, seg, swapped, twice, &kern);
	check_same(&user, &kern);
	return 0;
}
