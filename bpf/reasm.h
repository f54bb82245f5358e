/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-socket reassembly of the client's first bytes, by offset from the
 * start of the TCP stream. Bytes below `have` are final: they are never
 * written again, so the record layer may compact them in place. Segments
 * ahead of a gap are stored and remembered as ranges until the gap fills.
 * Pure arithmetic on the state, so it compiles for BPF and userspace alike;
 * the byte copy itself is the caller's (bpf_skb_load_bytes or memcpy).
 */
#ifndef TS_REASM_H
#define TS_REASM_H

#include "tagshake.h"
#include "sni.h"
#include "stage.h"

/* Masked buffer offsets keep every access provably inside the buffer. */
#define TS_BUF_MASK (TS_HELLO_MAX - 1)
/* Largest single copy into the buffer; the buffer has this much slack. */
#define TS_COPY_CHUNK 512
/* Out-of-order ranges remembered ahead of a gap; more is "incomplete". */
#define TS_GAPS_MAX 8
/* Extensions in one ClientHello (Chrome sends about 18). */
#define TS_EXT_MAX 64

struct ts_range {
	__u32 start;
	__u32 end;
};

/*
 * Loop state of a parsing stage. It lives in the reassembly state (map
 * memory), not on the stack: 6.1's verifier does not see a bpf_loop
 * callback's writes to its caller's stack, and would hard-wire the caller's
 * branches on those values as if the loop had never run.
 */
struct ts_walk_state {
	__u32 off;       /* next byte to read */
	__u32 end;       /* end of the block being walked */
	__u32 found;     /* extensions: offset of server_name + 1, 0 when absent */
	__u32 found_len;
	__s32 status;    /* result once the walk stops */
	struct ts_sni_check check;
};

struct ts_reasm {
	__u32 have;      /* contiguous stream bytes from offset 0 */
	__u32 scan_pos;  /* stream offset of the next record header */
	__u32 hs_len;    /* handshake bytes gathered at TS_HS_START */
	__u16 segments;  /* data segments seen */
	__u8 records;    /* records walked */
	__u8 nranges;    /* entries used in ahead[] */
	__u8 overflow;   /* a gap could not be remembered */
	__u8 pad[3];
	struct ts_range ahead[TS_GAPS_MAX];
	struct ts_walk_state outer; /* records, then extensions */
	struct ts_walk_state inner; /* ALPN names, SNI bytes */
	__u64 ext_low;   /* extension types below 64 seen so far */
	__u32 ext_high;  /* entries used in ext_seen[] */
	__u16 ext_seen[TS_EXT_MAX]; /* extension types from 64 up seen so far */
	__u8 buf[TS_HELLO_MAX + TS_COPY_CHUNK];
};

/* Empties a state for reuse; the buffer is overwritten before it is read. */
static __always_inline void ts_reasm_reset(struct ts_reasm *r)
{
	r->have = 0;
	r->scan_pos = 0;
	r->hs_len = 0;
	r->segments = 0;
	r->records = 0;
	r->nranges = 0;
	r->overflow = 0;
}

/*
 * Clips a segment [start, end) to what is still useful: not below `have`
 * (final bytes) and not beyond TS_HELLO_MAX. Returns 0 when nothing is left.
 */
static __always_inline int ts_reasm_clip(const struct ts_reasm *r, __u32 *start, __u32 *end)
{
	if (*end > TS_HELLO_MAX)
		*end = TS_HELLO_MAX;
	if (*start < r->have)
		*start = r->have;
	return *start < *end;
}

/* Pulls remembered ranges that now touch `have` into the contiguous prefix. */
static __always_inline void ts_reasm_absorb(struct ts_reasm *r)
{
	for (int pass = 0; pass < TS_GAPS_MAX; pass++) {
		int changed = 0;

		for (int i = 0; i < TS_GAPS_MAX; i++) {
			struct ts_range *g = &r->ahead[i];

			if (i >= r->nranges || g->end == 0 || g->start > r->have)
				continue;
			if (g->end > r->have)
				r->have = g->end;
			g->start = 0;
			g->end = 0; /* an empty slot */
			changed = 1;
		}
		if (!changed)
			break;
	}
}

/* Remembers [start, end) ahead of a gap, merging with an overlapping range. */
static __always_inline void ts_reasm_remember(struct ts_reasm *r, __u32 start, __u32 end)
{
	int free_slot = -1;

	for (int i = 0; i < TS_GAPS_MAX; i++) {
		struct ts_range *g = &r->ahead[i];

		if (i >= r->nranges) {
			if (free_slot < 0)
				free_slot = i;
			break;
		}
		if (g->end == 0) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (start <= g->end && end >= g->start) {
			if (start < g->start)
				g->start = start;
			if (end > g->end)
				g->end = end;
			return;
		}
	}
	if (free_slot < 0 || free_slot >= TS_GAPS_MAX) {
		r->overflow = 1;
		return;
	}
	r->ahead[free_slot].start = start;
	r->ahead[free_slot].end = end;
	if (free_slot >= r->nranges)
		r->nranges = free_slot + 1;
}

/* Records that bytes [start, end), already clipped and copied, arrived. */
TS_STAGE int ts_reasm_note(struct ts_reasm *r, __u32 start, __u32 end)
{
	if (!r)
		return -1;
	if (start <= r->have) {
		r->have = end;
		ts_reasm_absorb(r);
	} else {
		ts_reasm_remember(r, start, end);
	}
	return 0;
}

#endif /* TS_REASM_H */
