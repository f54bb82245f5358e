// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The ClientHello tagger: a cgroup_skb/ingress program that watches TCP
 * sockets on the edge ports, reassembles the client's first bytes per
 * socket, parses the ClientHello and stores a tag with the policy decision
 * in socket storage that userspace reads by fd. It only observes: every
 * packet passes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tagshake.h"
#include "clienthello.h"

typedef void *ts_policy_map_t;

static __always_inline const struct ts_policy_value *
ts_policy_find(void *map, __u64 hash, struct ts_policy_value *buf __attribute__((unused)))
{
	struct ts_policy_key key = { .hash = hash };

	return bpf_map_lookup_elem(map, &key);
}

#include "policy_lookup.h"

#define SKB_PASS 1
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ts_tag);
} tags SEC(".maps");

/* Reassembly between segments: lives only until the tag is final. */
#include "reasm_hold.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TS_PORTS_MAX);
	__type(key, __u16); /* local port, host byte order */
	__type(value, __u8);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TS_CTR_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct policy_set {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TS_POLICY_MAX);
	__type(key, struct ts_policy_key);
	__type(value, struct ts_policy_value);
} policy SEC(".maps");

/*
 * One slot holding the active policy set: an import builds a new set and
 * swaps it in with one update, so a lookup sees the old or the new set whole.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct policy_set);
} policy_slot SEC(".maps") = {
	.values = { [0] = &policy },
};

/* Per-CPU reassembly for hellos that arrive in one segment (most do). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ts_reasm);
} reasm_scratch SEC(".maps");

/* Per-CPU state of a policy lookup: loop state must not live on the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ts_name_scan);
} name_scan SEC(".maps");

/* BPF_PROG_TEST_RUN state for `tagshake parse`: one stream at a time. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ts_reasm);
} test_reasm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ts_tag);
} test_tag SEC(".maps");


static __always_inline void ts_count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

struct ts_segment {
	__u32 payload; /* offset of the TCP payload in the skb */
	__u32 len;     /* payload bytes */
	__u32 seq;     /* sequence number of the first payload byte */
	__u8 fin;
};

/* Reads the IPv4/IPv6 and TCP headers; 0 on success. */
static __always_inline int ts_segment_read(struct __sk_buff *skb, struct ts_segment *seg)
{
	__u32 l3, total;
	struct tcphdr th;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != IPPROTO_TCP)
			return -1;
		l3 = ip.ihl * 4;
		total = bpf_ntohs(ip.tot_len);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) || ip6.nexthdr != IPPROTO_TCP)
			return -1;
		l3 = sizeof(ip6);
		total = l3 + bpf_ntohs(ip6.payload_len);
	} else {
		return -1;
	}
	if (bpf_skb_load_bytes(skb, l3, &th, sizeof(th)))
		return -1;
	seg->payload = l3 + th.doff * 4;
	seg->len = total > seg->payload ? total - seg->payload : 0;
	seg->seq = bpf_ntohl(th.seq);
	seg->fin = th.fin;
	return 0;
}

/*
 * Copies the useful part of a segment at stream offset `off` into the
 * buffer and notes its arrival. A global function: verified once.
 */
__attribute__((noinline)) int ts_segment_store(struct __sk_buff *skb, struct ts_reasm *r,
					       __u32 payload, __u32 off, __u32 len)
{
	__u32 start = off, end = off + len;

	if (!r)
		return -1;
	r->segments++;
	/* A segment may carry more than the hello (a loopback or GRO segment
	 * with early data): the clip keeps what lies below TS_HELLO_MAX. */
	if (off >= TS_HELLO_MAX || !ts_reasm_clip(r, &start, &end))
		return 0;
	for (int i = 0; i < TS_HELLO_MAX / TS_COPY_CHUNK; i++) {
		__u64 at = start + i * TS_COPY_CHUNK;
		__u64 n;

		if (at >= end)
			break;
		n = end - at;
		if (n > TS_COPY_CHUNK)
			n = TS_COPY_CHUNK;
		/* Bound the very register passed: clang 14 may check a copy, and
		 * 6.1 wants it provably non-zero. n is 1..TS_COPY_CHUNK here. */
		barrier_var(n);
		n = ((n - 1) & (TS_COPY_CHUNK - 1)) + 1;
		if (bpf_skb_load_bytes(skb, payload + (at - off), &r->buf[at & TS_BUF_MASK], n))
			return -1;
	}
	ts_reasm_note(r, start, end);
	return 0;
}

/* Fills the tag's decision from the active policy set; returns the action. */
static __always_inline __u32 ts_tag_decide(struct ts_tag *t, int status)
{
	struct ts_policy_value v;
	struct ts_name_scan *scan;
	__u32 zero = 0;
	void *set;

	set = bpf_map_lookup_elem(&policy_slot, &zero);
	scan = bpf_map_lookup_elem(&name_scan, &zero);
	if (!set || !scan)
		return TS_ACTION_NONE;
	t->match = ts_policy_resolve(set, t->sni, status == TS_STATUS_OK ? t->sni_len : 0, scan,
				     NULL, &v);
	t->action = v.action < TS_ACTION_COUNT ? v.action : TS_ACTION_NONE;
	t->cert_id = v.cert_id;
	t->ca_id = v.ca_id;
	t->route_id = v.route_id;
	t->generation = v.generation;
	return t->action;
}

/*
 * Completes a tag with a final status: decides (only an ok or no-sni tag
 * carries a decision), counts, and writes the status last, so a reader that
 * sees a final status sees the whole tag (x86 keeps stores in order; BPF on
 * these kernels has no store-release).
 */
__attribute__((noinline)) int ts_tag_finish(struct ts_tag *t, int status)
{
	if (!t || status <= TS_STATUS_PENDING || status >= TS_STATUS_COUNT)
		return -1;
	ts_count(TS_CTR_STATUS + status);
	if (status == TS_STATUS_OK || status == TS_STATUS_NO_SNI)
		ts_count(TS_CTR_ACTION + ts_tag_decide(t, status));
	asm volatile("" ::: "memory");
	t->status = status;
	return 0;
}

/* One segment of one stream: store, advance the parser, finish when final. */
static __always_inline int ts_stream_step(struct __sk_buff *skb, struct ts_reasm *r,
					  struct ts_tag *t, const struct ts_segment *seg,
					  __u32 off)
{
	int st;

	if (ts_segment_store(skb, r, seg->payload, off, seg->len))
		return TS_STATUS_PENDING;
	st = ts_hello_advance(r, t);
	if (st == TS_STATUS_PENDING && seg->fin) {
		st = TS_STATUS_INCOMPLETE;
		t->segments = r->segments;
	}
	if (st != TS_STATUS_PENDING)
		ts_tag_finish(t, st);
	return st;
}

/* Parses what scratch holds; finishes the tag when final. */
static __always_inline int ts_hold_parse(struct ts_reasm *s, struct ts_tag *t,
					 const struct ts_segment *seg)
{
	int st = ts_hello_advance(s, t);

	if (st == TS_STATUS_PENDING && seg->fin) {
		st = TS_STATUS_INCOMPLETE;
		t->segments = s->segments;
	}
	if (st != TS_STATUS_PENDING)
		ts_tag_finish(t, st);
	return st;
}

/*
 * The first data segment of a socket: stored and parsed in per-CPU scratch.
 * Most hellos are whole in it and never create a hold; otherwise the raw
 * bytes move to the smallest hold that fits the record the parser waits for.
 */
static __always_inline int ts_first_segment(struct __sk_buff *skb, struct bpf_sock *sk,
					    struct ts_tag *t, struct ts_reasm *s,
					    const struct ts_segment *seg, __u32 off)
{
	__u32 hi = off + seg->len, need;
	int st, cls;
	void *h;

	if (off > 0 && off < TS_HELLO_MAX)
		ts_count(TS_CTR_OUT_OF_ORDER);
	if (ts_segment_store(skb, s, seg->payload, off, seg->len))
		return TS_STATUS_PENDING;
	st = ts_hold_parse(s, t, seg);
	if (st != TS_STATUS_PENDING)
		return st;
	need = ts_hold_need(s);
	if (s->records > 1) {
		/* The record layer gathered payloads in place; a hold keeps
		 * raw bytes, so store them again. */
		ts_reasm_reset(s);
		if (ts_segment_store(skb, s, seg->payload, off, seg->len))
			return TS_STATUS_PENDING;
	}
	if (off >= TS_HELLO_MAX)
		hi = 0;
	else if (hi > TS_HELLO_MAX)
		hi = TS_HELLO_MAX;
	cls = ts_hold_class(need > hi ? need : hi);
	h = ts_hold_create(sk, cls);
	if (!h) {
		ts_count(TS_CTR_NO_STORAGE);
		return TS_STATUS_PENDING;
	}
	ts_hold_bytes_out(h, cls, s->buf, hi);
	ts_hold_head_save(h, s, hi, need);
	return TS_STATUS_PENDING;
}

/*
 * A later segment of a pending hello, whose bytes wait in hold `h` of class
 * `cls`: the segment goes straight into the hold (a bigger one first if it
 * reaches beyond the class), and the hold's bytes are copied to scratch and
 * parsed only once the record the parser waits for is whole (or on FIN or
 * a gap overflow). The hold is deleted as soon as the tag is final.
 */
static __always_inline int ts_held_segment(struct __sk_buff *skb, struct bpf_sock *sk,
					   struct ts_tag *t, struct ts_reasm *s, void *h, int cls,
					   const struct ts_segment *seg, __u32 off)
{
	struct ts_hold_head *hd = h;
	__u32 hi = hd->hi, need = hd->need, start = off, end = off + seg->len;
	int st, want;
	void *nh;

	ts_hold_head_load(s, hd);
	if (off > s->have && off < TS_HELLO_MAX)
		ts_count(TS_CTR_OUT_OF_ORDER);
	s->segments++;
	if (off < TS_HELLO_MAX && ts_reasm_clip(s, &start, &end)) {
		if (end > ts_hold_cap(cls)) {
			want = ts_hold_class(end > need ? end : need);
			nh = ts_hold_create(sk, want);
			if (!nh) {
				ts_count(TS_CTR_NO_STORAGE);
				return TS_STATUS_PENDING;
			}
			ts_hold_bytes_out(nh, want, ts_hold_buf(h), hi);
			ts_hold_delete(sk, cls);
			h = nh;
			cls = want;
		}
		if (ts_hold_store(skb, h, cls, seg->payload, start, end, off))
			return TS_STATUS_PENDING;
		ts_reasm_note(s, start, end);
		if (end > hi)
			hi = end;
	}
	if (s->have >= need || seg->fin || s->overflow) {
		if (ts_hold_bytes_in(s, h, cls, hi))
			return TS_STATUS_PENDING;
		st = ts_hold_parse(s, t, seg);
		if (st != TS_STATUS_PENDING) {
			ts_hold_delete(sk, cls);
			return st;
		}
		need = ts_hold_need(s);
	}
	ts_hold_head_save(h, s, hi, need);
	return TS_STATUS_PENDING;
}

/* One segment of a hello still pending; h: the socket's hold, or NULL. */
static __always_inline int ts_hold_step(struct __sk_buff *skb, struct bpf_sock *sk,
					struct ts_tag *t, void *h, int cls,
					const struct ts_segment *seg, __u32 off)
{
	__u32 zero = 0;
	struct ts_reasm *s = bpf_map_lookup_elem(&reasm_scratch, &zero);

	if (!s)
		return TS_STATUS_PENDING;
	ts_reasm_reset(s);
	if (!h)
		return ts_first_segment(skb, sk, t, s, seg, off);
	return ts_held_segment(skb, sk, t, s, h, cls, seg, off);
}

/* The packet's full TCP socket when its local port is watched, else NULL. */
static __always_inline struct bpf_sock *ts_watched_sock(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	__u16 port;

	if (!sk)
		return NULL;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->protocol != IPPROTO_TCP)
		return NULL;
	port = sk->src_port;
	return bpf_map_lookup_elem(&ports, &port) ? sk : NULL;
}

SEC("cgroup_skb/ingress")
int ts_tagger(struct __sk_buff *skb)
{
	struct ts_segment seg = {};
	struct bpf_tcp_sock *tp;
	struct bpf_sock *sk;
	struct ts_tag *t;
	__u32 off, rcv_nxt;
	__u64 received;
	int fresh = 0, cls = 0;
	void *h;

	sk = ts_watched_sock(skb);
	if (!sk)
		return SKB_PASS;
	t = bpf_sk_storage_get(&tags, sk, 0, 0);
	if (t && t->status != TS_STATUS_PENDING)
		return SKB_PASS; /* the common case after the hello: one lookup */
	if (ts_segment_read(skb, &seg) || seg.len == 0)
		return SKB_PASS;
	if (sk->state == BPF_TCP_LISTEN) {
		/* Data that creates the child (TCP_DEFER_ACCEPT, Fast Open): no socket to tag. */
		ts_count(TS_CTR_LISTENER_DATA);
		return SKB_PASS;
	}
	tp = bpf_tcp_sock(sk);
	if (!tp)
		return SKB_PASS;
	/* Read now: the verifier refuses pointer arithmetic on tcp_sock that
	 * clang would otherwise hoist out of the branches below. */
	received = tp->bytes_received;
	rcv_nxt = tp->rcv_nxt;
	barrier_var(received);
	if (!t) {
		fresh = 1;
		t = bpf_sk_storage_get(&tags, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!t) {
			ts_count(TS_CTR_NO_STORAGE);
			return SKB_PASS;
		}
		if (received > 0) {
			/* Bytes reached the listener before this socket existed. */
			ts_tag_finish(t, TS_STATUS_MISSED);
			return SKB_PASS;
		}
	}
	/* rcv_nxt - bytes_received is the sequence number of stream byte 0. */
	off = seg.seq - (rcv_nxt - (__u32)received);
	ts_count(TS_CTR_SEGMENTS);
	/* A pending tag that existed before this segment has a hold (unless
	 * creating it failed); a tag created just now has none. */
	h = fresh ? NULL : ts_hold_find(sk, &cls);
	ts_hold_step(skb, sk, t, h, cls, &seg, off);
	return SKB_PASS;
}

/*
 * BPF_PROG_TEST_RUN entry for `tagshake parse`: the same store, parse and
 * decision code, with the TCP sequence number carrying the stream offset
 * and the state in array maps that userspace resets and reads.
 */
SEC("cgroup_skb/ingress")
int ts_parse_test(struct __sk_buff *skb)
{
	struct ts_segment seg = {};
	struct ts_reasm *r;
	struct ts_tag *t;
	__u32 zero = 0;

	r = bpf_map_lookup_elem(&test_reasm, &zero);
	t = bpf_map_lookup_elem(&test_tag, &zero);
	if (!r || !t || ts_segment_read(skb, &seg))
		return SKB_PASS;
	if (t->status == TS_STATUS_PENDING) {
		ts_count(TS_CTR_SEGMENTS);
		ts_stream_step(skb, r, t, &seg, seg.seq);
	}
	return SKB_PASS;
}
