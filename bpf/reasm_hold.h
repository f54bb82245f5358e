/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where a ClientHello that one segment does not hold waits for the next
 * segment: the raw stream bytes and the range bookkeeping of struct
 * ts_reasm, in socket storage of the smallest size class that holds the
 * record the parser waits for. Later segments are copied into the hold
 * straight from the packet; the parser runs on the per-CPU scratch state
 * (a whole struct ts_reasm), into which the hold's bytes are copied once
 * that record is whole. The hold is deleted as soon as the tag is final.
 * The classes' slack (TS_COPY_CHUNK, as ts_reasm's) keeps them in the same
 * kmalloc size as without it.
 *
 * Why classes: creating socket storage costs about its size (kzalloc):
 * 0.9 µs for the tag, 4.4 µs with a 17 KB buffer (bench/results.md), and
 * a socket-storage map has one value size. BPF-only: included by
 * tagger.bpf.c after the maps it needs.
 */
#ifndef TS_REASM_HOLD_H
#define TS_REASM_HOLD_H

#include "clienthello.h"
#include "reasm.h"

struct ts_hold_head {
	__u32 have;     /* as struct ts_reasm */
	__u32 hi;       /* end of the highest byte stored */
	__u32 need;     /* contiguous bytes before the next parse is worth it */
	__u16 segments; /* as struct ts_reasm */
	__u8 nranges;   /* as struct ts_reasm */
	__u8 overflow;  /* as struct ts_reasm */
	struct ts_range ahead[TS_GAPS_MAX];
};

/* Size classes; the last holds everything a tag can be computed from. */
#define TS_HOLD_CLASSES 5

#define TS_HOLD_MAP(cap)                                                  \
	struct ts_hold_##cap {                                            \
		struct ts_hold_head head;                                 \
		__u8 buf[(cap) + TS_COPY_CHUNK]; /* slack as ts_reasm's */\
	};                                                                \
	struct {                                                          \
		__uint(type, BPF_MAP_TYPE_SK_STORAGE);                    \
		__uint(map_flags, BPF_F_NO_PREALLOC);                     \
		__type(key, int);                                         \
		__type(value, struct ts_hold_##cap);                      \
	} hold_##cap SEC(".maps")

TS_HOLD_MAP(1024);
TS_HOLD_MAP(2048);
TS_HOLD_MAP(4096);
TS_HOLD_MAP(8192);
TS_HOLD_MAP(16384);
_Static_assert(16384 == TS_HELLO_MAX, "the largest class holds a whole hello");

/*
 * After a parse that wants more bytes: where the record it waits for ends
 * (or its header, when that is not whole yet). The record header at
 * scan_pos is raw: the record layer only moves payloads below it.
 */
static __always_inline __u32 ts_hold_need(const struct ts_reasm *s)
{
	__u32 pos = s->scan_pos & TS_BUF_MASK;

	if (pos + TLS_RECORD_HEADER > s->have)
		return pos + TLS_RECORD_HEADER;
	return pos + TLS_RECORD_HEADER + ts_u16(s, pos + 3);
}

/* Bytes a class holds. */
static __always_inline __u32 ts_hold_cap(int cls)
{
	return 1024u << (cls < TS_HOLD_CLASSES - 1 ? cls : 4);
}

/* The smallest class that holds `bytes` (clipped to TS_HELLO_MAX). */
static __always_inline int ts_hold_class(__u32 bytes)
{
	int cls = 0;

	while (cls < TS_HOLD_CLASSES - 1 && bytes > ts_hold_cap(cls))
		cls++;
	return cls;
}

/* The socket's hold and its class, or NULL. */
static __always_inline void *ts_hold_find(struct bpf_sock *sk, int *cls)
{
	void *h;

	if ((h = bpf_sk_storage_get(&hold_1024, sk, 0, 0)))
		*cls = 0;
	else if ((h = bpf_sk_storage_get(&hold_2048, sk, 0, 0)))
		*cls = 1;
	else if ((h = bpf_sk_storage_get(&hold_4096, sk, 0, 0)))
		*cls = 2;
	else if ((h = bpf_sk_storage_get(&hold_8192, sk, 0, 0)))
		*cls = 3;
	else if ((h = bpf_sk_storage_get(&hold_16384, sk, 0, 0)))
		*cls = 4;
	return h;
}

static __always_inline void *ts_hold_create(struct bpf_sock *sk, int cls)
{
	const __u64 f = BPF_SK_STORAGE_GET_F_CREATE;

	switch (cls) {
	case 0: return bpf_sk_storage_get(&hold_1024, sk, 0, f);
	case 1: return bpf_sk_storage_get(&hold_2048, sk, 0, f);
	case 2: return bpf_sk_storage_get(&hold_4096, sk, 0, f);
	case 3: return bpf_sk_storage_get(&hold_8192, sk, 0, f);
	default: return bpf_sk_storage_get(&hold_16384, sk, 0, f);
	}
}

static __always_inline void ts_hold_delete(struct bpf_sock *sk, int cls)
{
	switch (cls) {
	case 0: bpf_sk_storage_delete(&hold_1024, sk); break;
	case 1: bpf_sk_storage_delete(&hold_2048, sk); break;
	case 2: bpf_sk_storage_delete(&hold_4096, sk); break;
	case 3: bpf_sk_storage_delete(&hold_8192, sk); break;
	default: bpf_sk_storage_delete(&hold_16384, sk); break;
	}
}

/* Copies the bytes [0, n) between a hold's buffer of `cap` bytes and the
 * scratch buffer; n is bounded on the very register passed. */
static __always_inline long ts_hold_copy(void *dst, const void *src, __u32 bytes, __u32 cap)
{
	__u64 n = bytes; /* 64 bits: no zero extension on a copy of the register */

	if (n > cap)
		n = cap;
	barrier_var(n);
	if (n > cap)
		return -1;
	return bpf_probe_read_kernel(dst, n, src);
}

/* Every class starts with the head: one layout for all of them. */
static __always_inline __u8 *ts_hold_buf(void *h)
{
	return (__u8 *)h + sizeof(struct ts_hold_head);
}

/* The head fields into the scratch state (reset by the caller). */
static __always_inline void ts_hold_head_load(struct ts_reasm *s, const struct ts_hold_head *h)
{
	s->have = h->have;
	s->segments = h->segments;
	s->nranges = h->nranges;
	s->overflow = h->overflow;
	__builtin_memcpy(s->ahead, h->ahead, sizeof(s->ahead));
}

static __always_inline void ts_hold_head_save(struct ts_hold_head *h, const struct ts_reasm *s,
					      __u32 hi, __u32 need)
{
	h->have = s->have;
	h->hi = hi;
	h->need = need;
	h->segments = s->segments;
	h->nranges = s->nranges;
	h->overflow = s->overflow;
	__builtin_memcpy(h->ahead, s->ahead, sizeof(h->ahead));
}

/* A hold's bytes [0, n) into the scratch buffer, for a parse. */
static __always_inline long ts_hold_bytes_in(struct ts_reasm *s, void *h, int cls, __u32 n)
{
	return ts_hold_copy(s->buf, ts_hold_buf(h), n, ts_hold_cap(cls));
}

#define TS_HOLD_OUT_CASE(cap)                                                    \
	do {                                                                     \
		struct ts_hold_##cap *hc = h;                                    \
		return ts_hold_copy(hc->buf, src, n, cap);                       \
	} while (0)

/* Bytes [0, n) from src (the scratch buffer or a smaller hold's) into a
 * hold of class `cls`: the bound is the destination's. */
static __always_inline long ts_hold_bytes_out(void *h, int cls, const void *src, __u32 n)
{
	switch (cls) {
	case 0: TS_HOLD_OUT_CASE(1024);
	case 1: TS_HOLD_OUT_CASE(2048);
	case 2: TS_HOLD_OUT_CASE(4096);
	case 3: TS_HOLD_OUT_CASE(8192);
	default: TS_HOLD_OUT_CASE(16384);
	}
}

/*
 * Copies a segment's bytes [start, end) (already clipped, end within the
 * class; `from`: the packet offset of byte `start`) straight into a hold,
 * in chunks as
 * ts_segment_store does. Global functions, one per class: each is verified
 * once.
 */
#define TS_HOLD_STORE_FN(cap)                                                    \
	__attribute__((noinline)) int ts_hold_store_##cap(                       \
		struct __sk_buff *skb, struct ts_hold_##cap *h, __u32 from,      \
		__u32 start, __u32 end)                                          \
	{                                                                        \
		if (!h)                                                          \
			return -1;                                               \
		for (int i = 0; i < (cap) / TS_COPY_CHUNK; i++) {                \
			__u64 at = start + i * TS_COPY_CHUNK;                    \
			__u64 n;                                                 \
                                                                                 \
			if (at >= end)                                           \
				break;                                           \
			n = end - at;                                            \
			if (n > TS_COPY_CHUNK)                                   \
				n = TS_COPY_CHUNK;                               \
			barrier_var(n);                                          \
			n = ((n - 1) & (TS_COPY_CHUNK - 1)) + 1;                 \
			if (bpf_skb_load_bytes(skb, from + (at - start),         \
					       &h->buf[at & ((cap) - 1)], n))    \
				return -1;                                       \
		}                                                                \
		return 0;                                                        \
	}

TS_HOLD_STORE_FN(1024)
TS_HOLD_STORE_FN(2048)
TS_HOLD_STORE_FN(4096)
TS_HOLD_STORE_FN(8192)
TS_HOLD_STORE_FN(16384)

static __always_inline int ts_hold_store(struct __sk_buff *skb, void *h, int cls, __u32 payload,
					 __u32 start, __u32 end, __u32 off)
{
	__u32 from = payload + (start - off);

	switch (cls) {
	case 0: return ts_hold_store_1024(skb, h, from, start, end);
	case 1: return ts_hold_store_2048(skb, h, from, start, end);
	case 2: return ts_hold_store_4096(skb, h, from, start, end);
	case 3: return ts_hold_store_8192(skb, h, from, start, end);
	default: return ts_hold_store_16384(skb, h, from, start, end);
	}
}

#endif /* TS_REASM_HOLD_H */
