/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where a ClientHello that one segment does not hold waits for the next
 * segment: the raw stream bytes and the range bookkeeping of struct
 * ts_reasm, in socket storage of the smallest size class that holds the
 * record the parser waits for. Every segment is stored and parsed in the
 * per-CPU scratch state (a whole struct ts_reasm); the hold only carries
 * the bytes from one segment to the next, and is deleted as soon as the
 * tag is final.
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
		__u8 buf[cap];                                            \
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

#define TS_HOLD_LOAD_CASE(cap)                                            \
	do {                                                              \
		struct ts_hold_##cap *hc = h;                             \
		ts_hold_head_load(s, &hc->head);                          \
		*hi = hc->head.hi;                                        \
		*need = hc->head.need;                                    \
		return ts_hold_copy(s->buf, hc->buf, *hi, cap);           \
	} while (0)

/* Loads a hold into the (reset) scratch state: bytes, ranges, hi, need. */
static __always_inline long ts_hold_load(struct ts_reasm *s, void *h, int cls, __u32 *hi,
					 __u32 *need)
{
	switch (cls) {
	case 0: TS_HOLD_LOAD_CASE(1024);
	case 1: TS_HOLD_LOAD_CASE(2048);
	case 2: TS_HOLD_LOAD_CASE(4096);
	case 3: TS_HOLD_LOAD_CASE(8192);
	default: TS_HOLD_LOAD_CASE(16384);
	}
}

#define TS_HOLD_SAVE_CASE(cap)                                            \
	do {                                                              \
		struct ts_hold_##cap *hc = h;                             \
		ts_hold_head_save(&hc->head, s, hi, need);                \
		return ts_hold_copy(hc->buf, s->buf, hi, cap);            \
	} while (0)

/* Saves the scratch state's raw bytes [0, hi) and ranges into a hold. */
static __always_inline long ts_hold_save(void *h, int cls, const struct ts_reasm *s, __u32 hi,
					 __u32 need)
{
	switch (cls) {
	case 0: TS_HOLD_SAVE_CASE(1024);
	case 1: TS_HOLD_SAVE_CASE(2048);
	case 2: TS_HOLD_SAVE_CASE(4096);
	case 3: TS_HOLD_SAVE_CASE(8192);
	default: TS_HOLD_SAVE_CASE(16384);
	}
}

#endif /* TS_REASM_HOLD_H */
