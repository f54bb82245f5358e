// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark entries for the tagger (bench/tagger_parse.c), run with
 * BPF_PROG_TEST_RUN and `repeat`. The whole tagger is included, so what is
 * timed is the live program's own store, parse and decision code, not a
 * copy. The kernel does not reset anything between repetitions, so each
 * entry that times a parse first puts its state back to "no byte seen":
 * without that, repetitions 2..N would only meet an already final tag.
 */
#include "tagger.bpf.c"
#include "../bench/tagger_bench.h"

/* Segment size the parse entries cut the packet's payload into. */
__u32 bench_mss = 1460;
/* Status of the last parse, for userspace to check it is the expected one. */
__u32 bench_status;

/* enum bench_stages: how much of a segment's work the parse entries do. */
__u32 bench_stages = BENCH_ALL;

/* Most segments one packet is cut into (a test packet is below a page). */
#define BENCH_SEGMENTS_MAX 64

/*
 * What a freshly created storage holds, as far as the parser can tell:
 * everything zero but the buffer, whose bytes above `have` are written
 * before they are read.
 */
static __always_inline void bench_reasm_clear(struct ts_reasm *r)
{
	__builtin_memset(r, 0, __builtin_offsetof(struct ts_reasm, buf));
}

/* A part of ts_stream_step, for the breakdown. */
static __always_inline int bench_step_part(struct __sk_buff *skb, struct ts_reasm *r,
					   struct ts_tag *t, const struct ts_segment *seg, __u32 off)
{
	int st;

	if (ts_segment_store(skb, r, seg->payload, off, seg->len))
		return TS_STATUS_PENDING;
	if (bench_stages == BENCH_STORE)
		return TS_STATUS_PENDING;
	if (bench_stages == BENCH_RECORDS)
		return ts_records_advance(r);
	st = ts_hello_advance(r, t);
	if (st != TS_STATUS_PENDING)
		t->status = st; /* what ts_tag_finish publishes, without the decision */
	return st;
}

/*
 * Feeds the packet's TCP payload to ts_stream_step as segments of
 * bench_mss bytes at stream offsets 0, mss, 2*mss... until the tag is
 * final: the per-segment work of the live program for that hello.
 */
static __always_inline int bench_feed(struct __sk_buff *skb, struct ts_reasm *r, struct ts_tag *t)
{
	struct ts_segment whole = {}, seg = {};
	__u32 mss = bench_mss, off = 0;
	int st = TS_STATUS_PENDING;

	if (ts_segment_read(skb, &whole) || mss == 0)
		return -1;
	for (int i = 0; i < BENCH_SEGMENTS_MAX && off < whole.len; i++) {
		seg.payload = whole.payload + off;
		seg.len = whole.len - off < mss ? whole.len - off : mss;
		seg.fin = off + seg.len == whole.len;
		if (bench_stages == BENCH_ALL)
			st = ts_stream_step(skb, r, t, &seg, off);
		else
			st = bench_step_part(skb, r, t, &seg, off);
		if (st != TS_STATUS_PENDING)
			break;
		off += seg.len;
	}
	return st;
}

/* Parse with the state in the test array maps, cleared on every run. */
SEC("cgroup_skb/ingress")
int bench_parse(struct __sk_buff *skb)
{
	struct ts_reasm *r;
	struct ts_tag *t;
	__u32 zero = 0;

	r = bpf_map_lookup_elem(&test_reasm, &zero);
	t = bpf_map_lookup_elem(&test_tag, &zero);
	if (!r || !t)
		return SKB_PASS;
	bench_reasm_clear(r);
	__builtin_memset(t, 0, sizeof(*t));
	bench_status = bench_feed(skb, r, t);
	return SKB_PASS;
}

/* Segments bench_parse_storage feeds: the storage rows cut hellos of at
 * most 2 KB at 536 bytes or more, and the verifier walks each one unrolled. */
#define BENCH_HOLD_SEGMENTS 4

/*
 * Parse with the state where the live program keeps it: the tag in socket
 * storage of the test run's socket (created on every run, zeroed by the
 * kernel), each segment through ts_hold_step (the per-CPU scratch state,
 * and a hold sized from the record header only when the hello needs more
 * segments, deleted once the tag is final, as ts_tagger does). The tag
 * storage is deleted too, which the live program leaves to the socket's
 * destruction, so that the next run starts from nothing.
 */
SEC("cgroup_skb/ingress")
int bench_parse_storage(struct __sk_buff *skb)
{
	struct ts_segment whole = {}, seg = {};
	struct bpf_sock *sk = skb->sk;
	__u32 mss = bench_mss, off = 0;
	int st = TS_STATUS_PENDING, cls = 0;
	struct ts_tag *t;
	void *h = NULL;

	if (!sk)
		return SKB_PASS;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return SKB_PASS;
	t = bpf_sk_storage_get(&tags, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (t && !ts_segment_read(skb, &whole) && mss) {
		for (int i = 0; i < BENCH_HOLD_SEGMENTS && off < whole.len; i++) {
			seg.payload = whole.payload + off;
			seg.len = whole.len - off < mss ? whole.len - off : mss;
			seg.fin = off + seg.len == whole.len;
			h = i ? ts_hold_find(sk, &cls) : NULL;
			st = ts_hold_step(skb, sk, t, h, cls, &seg, off);
			if (st != TS_STATUS_PENDING)
				break;
			off += seg.len;
		}
	}
	bench_status = st;
	bpf_sk_storage_delete(&tags, sk);
	return SKB_PASS;
}

/*
 * ts_tagger's path for a segment of a socket whose tag is final, on the
 * test run's socket (whose protocol and port are not a TCP socket's, so
 * ts_tagger itself would leave earlier): full socket, ports lookup, tag
 * lookup. The first repetition creates the final tag.
 */
SEC("cgroup_skb/ingress")
int bench_fast_path(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct ts_tag *t;
	__u16 port;

	if (!sk)
		return SKB_PASS;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return SKB_PASS;
	port = sk->src_port;
	if (!bpf_map_lookup_elem(&ports, &port))
		return SKB_PASS;
	t = bpf_sk_storage_get(&tags, sk, 0, 0);
	if (t && t->status != TS_STATUS_PENDING)
		return SKB_PASS;
	t = bpf_sk_storage_get(&tags, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (t)
		t->status = TS_STATUS_OK;
	bench_status = t ? t->status : 0;
	return SKB_PASS;
}

/* Socket storage set-up alone: the tag and the 2 KiB hold a 2 KB hello
 * needs in several segments (bench_parse_storage at 536 bytes). */
SEC("cgroup_skb/ingress")
int bench_storage(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct ts_tag *t;
	void *h;

	if (!sk)
		return SKB_PASS;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return SKB_PASS;
	t = bpf_sk_storage_get(&tags, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	h = bpf_sk_storage_get(&hold_2048, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	bench_status = t && h ? TS_STATUS_OK : TS_STATUS_PENDING;
	bpf_sk_storage_delete(&hold_2048, sk);
	bpf_sk_storage_delete(&tags, sk);
	return SKB_PASS;
}

/* The tag's storage alone (the reassembly buffer is the big one). */
SEC("cgroup_skb/ingress")
int bench_storage_tag(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	struct ts_tag *t;

	if (!sk)
		return SKB_PASS;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return SKB_PASS;
	t = bpf_sk_storage_get(&tags, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	bench_status = t ? TS_STATUS_OK : TS_STATUS_PENDING;
	bpf_sk_storage_delete(&tags, sk);
	return SKB_PASS;
}

/*
 * Socket storage cost by value size, to size a reassembly buffer: the same
 * create + delete as above, for values of 1, 4, 8 and 16 KiB + the struct
 * ts_reasm header (the former reassembly storage was the 16 KiB size).
 */
#define BENCH_SIZED_STORAGE(kib)                                          \
	struct bench_value_##kib {                                        \
		__u8 bytes[(kib) * 1024];                                 \
	};                                                                \
	struct {                                                          \
		__uint(type, BPF_MAP_TYPE_SK_STORAGE);                    \
		__uint(map_flags, BPF_F_NO_PREALLOC);                     \
		__type(key, int);                                         \
		__type(value, struct bench_value_##kib);                  \
	} bench_storage_##kib SEC(".maps")

BENCH_SIZED_STORAGE(1);
BENCH_SIZED_STORAGE(4);
BENCH_SIZED_STORAGE(8);

/* Value size in KiB for bench_storage_sized: 1, 4 or 8. */
__u32 bench_storage_kib;

SEC("cgroup_skb/ingress")
int bench_storage_sized(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	void *v = NULL;

	if (!sk)
		return SKB_PASS;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return SKB_PASS;
	if (bench_storage_kib == 1) {
		v = bpf_sk_storage_get(&bench_storage_1, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		bpf_sk_storage_delete(&bench_storage_1, sk);
	} else if (bench_storage_kib == 4) {
		v = bpf_sk_storage_get(&bench_storage_4, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		bpf_sk_storage_delete(&bench_storage_4, sk);
	} else if (bench_storage_kib == 8) {
		v = bpf_sk_storage_get(&bench_storage_8, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		bpf_sk_storage_delete(&bench_storage_8, sk);
	}
	bench_status = v ? TS_STATUS_OK : TS_STATUS_PENDING;
	return SKB_PASS;
}

/*
 * The floor of any design that tags sockets, for bench/tagger_connrate.sh:
 * ts_tagger's checks, and on the first data segment a tag created and made
 * final (status ok, no SNI) without reassembly, parse or decision. Run
 * attached to a cgroup, next to the real tagger and to no program at all.
 */
SEC("cgroup_skb/ingress")
int bench_tag_only(struct __sk_buff *skb)
{
	struct ts_segment seg = {};
	struct bpf_sock *sk;
	struct ts_tag *t;

	sk = ts_watched_sock(skb);
	if (!sk)
		return SKB_PASS;
	t = bpf_sk_storage_get(&tags, sk, 0, 0);
	if (t && t->status != TS_STATUS_PENDING)
		return SKB_PASS;
	if (sk->state == BPF_TCP_LISTEN || ts_segment_read(skb, &seg) || seg.len == 0)
		return SKB_PASS;
	t = bpf_sk_storage_get(&tags, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (t)
		t->status = TS_STATUS_OK;
	return SKB_PASS;
}

/* The floor: entering and leaving a program under BPF_PROG_TEST_RUN. */
SEC("cgroup_skb/ingress")
int bench_empty(struct __sk_buff *skb __attribute__((unused)))
{
	return SKB_PASS;
}
