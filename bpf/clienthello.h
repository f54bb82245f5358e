/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The ClientHello parser shared by the live BPF program, the in-kernel test
 * entry point and userspace (unit tests, fuzzing, `tagshake parse
 * --userspace`). It reads only the reassembly buffer of struct ts_reasm,
 * with every offset masked, and writes its result into a struct ts_tag.
 *
 * For BPF the stages are global functions: the verifier checks each once,
 * so their loops add up instead of multiplying.
 */
#ifndef TS_CLIENTHELLO_H
#define TS_CLIENTHELLO_H

#include "tagshake.h"
#include "reasm.h"
#include "sni.h"
#include "stage.h"

#ifndef __bpf__
#include <string.h>
#endif

/* RFC 8446 5.1 / 4 / 4.2, RFC 6066 3, RFC 7301 3.1 */
#define TLS_RECORD_HEADER 5
#define TLS_RECORD_PAYLOAD_MAX 16384 /* 2^14 */
#define TLS_CONTENT_HANDSHAKE 22
#define TLS_HANDSHAKE_HEADER 4
#define TLS_HANDSHAKE_CLIENT_HELLO 1
#define TLS_RANDOM_SIZE 32
#define TLS_SESSION_ID_MAX 32
#define TLS_EXT_SERVER_NAME 0
#define TLS_EXT_ALPN 16
#define TLS_SNI_HOST_NAME 0

/* Handshake bytes are gathered right behind the first record header. */
#define TS_HS_START TLS_RECORD_HEADER
/* Records one ClientHello may span; bounds the walk (and verifier cost). */
#define TS_RECORDS_MAX 32
/* Entries in one server_name list. */
#define TS_SNI_ENTRIES_MAX 8
/* Protocol names in one ALPN list. */
#define TS_ALPN_NAMES_MAX 64

static __always_inline __u32 ts_u8(const struct ts_reasm *r, __u32 off)
{
	return r->buf[off & TS_BUF_MASK];
}

static __always_inline __u32 ts_u16(const struct ts_reasm *r, __u32 off)
{
	return ts_u8(r, off) << 8 | ts_u8(r, off + 1);
}

static __always_inline __u32 ts_u24(const struct ts_reasm *r, __u32 off)
{
	return ts_u8(r, off) << 16 | ts_u16(r, off + 1);
}

struct ts_move {
	struct ts_reasm *r;
	__u32 dst;
	__u32 src;
};

static long ts_move_word(__u64 i, void *ctx)
{
	struct ts_move *m = ctx;
	__u32 d = (m->dst + i * 8) & TS_BUF_MASK;
	__u32 s = (m->src + i * 8) & TS_BUF_MASK;

	/* The buffer has TS_COPY_CHUNK bytes of slack after TS_BUF_MASK. */
	__builtin_memcpy(&m->r->buf[d], &m->r->buf[s], 8);
	return 0;
}

/*
 * Moves n bytes from src down to dst < src. Word copies run forward, and a
 * forward copy towards lower offsets never reads what it already wrote.
 */
TS_STAGE int ts_move_down(struct ts_reasm *r, __u32 dst, __u32 src, __u32 n)
{
	struct ts_move m = { .r = r, .dst = dst, .src = src };
	__u32 words = n / 8;

	if (!r)
		return -1;
	ts_loop(words, ts_move_word, &m);
	for (__u32 i = 0; i < 8; i++) {
		__u32 at = words * 8 + i;

		if (at >= n)
			break;
		r->buf[(dst + at) & TS_BUF_MASK] = r->buf[(src + at) & TS_BUF_MASK];
	}
	return 0;
}

/* Checks what the first record header shows so far: is this TLS at all? */
static __always_inline int ts_looks_like_tls(const struct ts_reasm *r)
{
	if (r->have >= 1 && ts_u8(r, 0) != TLS_CONTENT_HANDSHAKE)
		return 0;
	if (r->have >= 2 && ts_u8(r, 1) != 3)
		return 0;
	return 1;
}

/* After a record: is the handshake message complete, still short, or wrong? */
static __always_inline int ts_handshake_state(const struct ts_reasm *r)
{
	__u32 need;

	if (r->hs_len < TLS_HANDSHAKE_HEADER)
		return TS_STATUS_PENDING;
	if (ts_u8(r, TS_HS_START) != TLS_HANDSHAKE_CLIENT_HELLO)
		return TS_STATUS_MALFORMED;
	need = TLS_HANDSHAKE_HEADER + ts_u24(r, TS_HS_START + 1);
	if (need == TLS_HANDSHAKE_HEADER)
		return TS_STATUS_MALFORMED;
	if (TS_HS_START + need > TS_HELLO_MAX)
		return TS_STATUS_TOO_BIG;
	if (r->hs_len > need) /* bytes after the ClientHello in its record */
		return TS_STATUS_MALFORMED;
	return r->hs_len == need ? TS_STATUS_OK : TS_STATUS_PENDING;
}

/* A loop callback's context: where to read, where its state lives. */
struct ts_walk {
	struct ts_reasm *r;
	struct ts_tag *t;
	struct ts_walk_state *s;
};

static __always_inline long ts_walk_stop(struct ts_walk *w, int status)
{
	w->s->status = status;
	return 1;
}

/* One record: check its header, gather its payload, see if the hello is whole. */
static long ts_record_step(__u64 i __attribute__((unused)), void *ctx)
{
	struct ts_walk *w = ctx;
	struct ts_reasm *r = w->r;
	__u32 pos = r->scan_pos & TS_BUF_MASK;
	__u32 len, state;

	if (pos + TLS_RECORD_HEADER > r->have)
		return ts_walk_stop(w, pos + TLS_RECORD_HEADER > TS_HELLO_MAX ? TS_STATUS_TOO_BIG :
										TS_STATUS_PENDING);
	if (ts_u8(r, pos) != TLS_CONTENT_HANDSHAKE || ts_u8(r, pos + 1) != 3 ||
	    ts_u8(r, pos + 2) > 4)
		return ts_walk_stop(w, r->records ? TS_STATUS_MALFORMED : TS_STATUS_NOT_TLS);
	len = ts_u16(r, pos + 3);
	if (len == 0 || len > TLS_RECORD_PAYLOAD_MAX)
		return ts_walk_stop(w, TS_STATUS_MALFORMED);
	if (pos + TLS_RECORD_HEADER + len > TS_HELLO_MAX)
		return ts_walk_stop(w, TS_STATUS_TOO_BIG);
	if (pos + TLS_RECORD_HEADER + len > r->have)
		return ts_walk_stop(w, TS_STATUS_PENDING);
	if (r->records)
		ts_move_down(r, (TS_HS_START + r->hs_len) & TS_BUF_MASK, pos + TLS_RECORD_HEADER,
			     len);
	r->hs_len += len;
	r->scan_pos = pos + TLS_RECORD_HEADER + len;
	r->records++;
	state = ts_handshake_state(r);
	if (state != TS_STATUS_PENDING)
		return ts_walk_stop(w, state);
	return 0;
}

/*
 * Walks the complete records in the contiguous prefix and gathers their
 * payload at TS_HS_START. Returns TS_STATUS_OK once the whole ClientHello
 * message is gathered, TS_STATUS_PENDING when more bytes are needed, or a
 * final error status (TS_STATUS_TOO_BIG beyond TS_RECORDS_MAX records).
 */
TS_STAGE int ts_records_advance(struct ts_reasm *r)
{
	struct ts_walk w = { .r = r };

	if (!r)
		return TS_STATUS_MALFORMED;
	if (!r->records && !ts_looks_like_tls(r))
		return TS_STATUS_NOT_TLS;
	if (r->records >= TS_RECORDS_MAX)
		return TS_STATUS_TOO_BIG;
	w.s = &r->outer;
	w.s->status = TS_STATUS_TOO_BIG; /* what remains if the records run out */
	ts_loop(TS_RECORDS_MAX - r->records, ts_record_step, &w);
	return w.s->status;
}

/*
 * Returns 1 when `type` already appeared in this ClientHello. Types below 64
 * (most extensions) are a bit each; the others (GREASE, renegotiation_info,
 * ECH, ALPS: a few per hello) are compared one by one.
 */
TS_STAGE int ts_ext_repeated(struct ts_reasm *r, __u32 type)
{
	__u32 n;

	if (!r)
		return 1;
	if (type < 64) {
		__u64 bit = 1ULL << type;

		if (r->ext_low & bit)
			return 1;
		r->ext_low |= bit;
		return 0;
	}
	n = r->ext_high;
	for (__u32 i = 0; i < TS_EXT_MAX; i++) {
		if (i >= n)
			break;
		if (r->ext_seen[i] == type)
			return 1;
	}
	r->ext_seen[n & (TS_EXT_MAX - 1)] = type;
	r->ext_high = n + 1;
	return 0;
}

/* One protocol name of an ALPN list: non-empty and inside the list. */
static long ts_alpn_step(__u64 i __attribute__((unused)), void *ctx)
{
	struct ts_walk *w = ctx;
	struct ts_walk_state *s = w->s;
	__u32 n;

	if (s->off == s->end)
		return ts_walk_stop(w, TS_STATUS_OK);
	n = ts_u8(w->r, s->off);
	if (n == 0 || s->off + 1 + n > s->end)
		return ts_walk_stop(w, TS_STATUS_MALFORMED);
	s->off += 1 + n;
	return 0;
}

/* Validates an ALPN extension body and keeps its protocol list in the tag. */
TS_STAGE int ts_alpn_take(struct ts_reasm *r, struct ts_tag *t, __u32 off, __u32 len)
{
	struct ts_walk w = { .r = r, .t = t };
	__u32 list;

	if (!r || !t || len < 2)
		return TS_STATUS_MALFORMED;
	list = ts_u16(r, off);
	if (list + 2 != len || list < 2)
		return TS_STATUS_MALFORMED;
	w.s = &r->inner;
	w.s->off = off + 2;
	w.s->end = off + len;
	w.s->status = TS_STATUS_TOO_BIG;
	ts_loop(TS_ALPN_NAMES_MAX + 1, ts_alpn_step, &w);
	if (w.s->status != TS_STATUS_OK)
		return w.s->status;
	for (__u32 i = 0; i < TS_ALPN_SIZE && i < list; i++)
		t->alpn[i] = ts_u8(r, off + 2 + i);
	t->alpn_len = list;
	return TS_STATUS_OK;
}

/* Bytes of the name checked per ts_loop step: the step's call costs more than a byte. */
#define TS_SNI_CHUNK 8

static long ts_sni_step(__u64 i, void *ctx)
{
	struct ts_walk *w = ctx;
	struct ts_walk_state *s = w->s;

	for (__u32 j = 0; j < TS_SNI_CHUNK; j++) {
		__u32 at = i * TS_SNI_CHUNK + j;

		if (at >= s->end)
			break;
		ts_sni_push(&s->check, ts_u8(w->r, s->off + at));
	}
	return s->check.bad != 0; /* a callback returns 0 or 1 */
}

/* Normalises the host_name at off into the tag; OK or BAD_SNI. */
TS_STAGE int ts_sni_take(struct ts_reasm *r, struct ts_tag *t, __u32 off, __u32 len)
{
	struct ts_walk w = { .r = r, .t = t };

	if (!r || !t)
		return TS_STATUS_MALFORMED;
	w.s = &r->inner;
	__builtin_memset(&w.s->check, 0, sizeof(w.s->check));
	w.s->off = off;
	if (len > 0 && ts_u8(r, off + len - 1) == '.')
		len--; /* one trailing dot: the absolute form of the same name */
	if (len == 0 || len > TS_SNI_MAX)
		return TS_STATUS_BAD_SNI;
	/* Validate first: a bad name never reaches the tag. */
	w.s->end = len;
	ts_loop((len + TS_SNI_CHUNK - 1) / TS_SNI_CHUNK, ts_sni_step, &w);
	if (!ts_sni_valid(&w.s->check))
		return TS_STATUS_BAD_SNI;
	for (__u32 i = 0; i < TS_SNI_MAX && i < len; i++)
		t->sni[i] = ts_sni_lower(ts_u8(r, off + i));
	t->sni_len = len;
	return TS_STATUS_OK;
}

/* Finds the single host_name entry of a server_name extension body. */
TS_STAGE int ts_sni_find(struct ts_reasm *r, struct ts_tag *t, __u32 off, __u32 len)
{
	__u32 p = off + 2, end = off + len, name = 0, name_len = 0;
	int found = 0;

	if (!r || !t || len < 2 || ts_u16(r, off) + 2 != len)
		return TS_STATUS_MALFORMED;
	for (int i = 0; i < TS_SNI_ENTRIES_MAX; i++) {
		__u32 n;

		if (p == end)
			break;
		if (p + 3 > end)
			return TS_STATUS_MALFORMED;
		n = ts_u16(r, p + 1);
		if (p + 3 + n > end)
			return TS_STATUS_MALFORMED;
		if (ts_u8(r, p) == TLS_SNI_HOST_NAME) {
			if (found)
				return TS_STATUS_MALFORMED; /* RFC 6066: one name per type */
			found = 1;
			name = p + 3;
			name_len = n;
		}
		p += 3 + n;
	}
	if (p != end || p == off + 2)
		return TS_STATUS_MALFORMED;
	if (!found)
		return TS_STATUS_NO_SNI;
	return ts_sni_take(r, t, name, name_len);
}

/* One extension: bounds, duplicates, remember server_name, take ALPN. */
static long ts_extension_step(__u64 i __attribute__((unused)), void *ctx)
{
	struct ts_walk *w = ctx;
	struct ts_reasm *r = w->r;
	struct ts_walk_state *s = w->s;
	__u32 off = s->off, type, len;

	if (off == s->end)
		return ts_walk_stop(w, TS_STATUS_OK);
	if (off + 4 > s->end)
		return ts_walk_stop(w, TS_STATUS_MALFORMED);
	type = ts_u16(r, off);
	len = ts_u16(r, off + 2);
	off += 4;
	if (off + len > s->end || ts_ext_repeated(r, type))
		return ts_walk_stop(w, TS_STATUS_MALFORMED);
	if (type == TLS_EXT_SERVER_NAME) {
		s->found = off + 1;
		s->found_len = len;
	} else if (type == TLS_EXT_ALPN) {
		int st = ts_alpn_take(r, w->t, off, len);

		if (st != TS_STATUS_OK)
			return ts_walk_stop(w, st);
	}
	s->off = off + len;
	return 0;
}

/* Walks the extensions block [off, end): SNI, ALPN, duplicates. */
TS_STAGE int ts_extensions_walk(struct ts_reasm *r, struct ts_tag *t, __u32 off, __u32 end)
{
	struct ts_walk w = { .r = r, .t = t };
	struct ts_walk_state *s;

	if (!r || !t)
		return TS_STATUS_MALFORMED;
	s = w.s = &r->outer;
	s->off = off;
	s->end = end;
	s->found = 0;
	r->ext_low = 0;
	r->ext_high = 0;
	/* One extra step sees the end after TS_EXT_MAX extensions. */
	s->status = TS_STATUS_TOO_BIG;
	ts_loop(TS_EXT_MAX + 1, ts_extension_step, &w);
	if (s->status != TS_STATUS_OK)
		return s->status;
	return s->found ? ts_sni_find(r, t, s->found - 1, s->found_len) : TS_STATUS_NO_SNI;
}

/* Parses the gathered ClientHello body up to its extensions. */
TS_STAGE int ts_hello_parse(struct ts_reasm *r, struct ts_tag *t)
{
	__u32 end, off = TS_HS_START + TLS_HANDSHAKE_HEADER, n;

	if (!r || !t)
		return TS_STATUS_MALFORMED;
	end = TS_HS_START + r->hs_len;
	if (off + 2 + TLS_RANDOM_SIZE + 1 > end || ts_u8(r, off) != 3)
		return TS_STATUS_MALFORMED;
	off += 2 + TLS_RANDOM_SIZE;
	n = ts_u8(r, off); /* legacy_session_id */
	if (n > TLS_SESSION_ID_MAX)
		return TS_STATUS_MALFORMED;
	off += 1 + n;
	if (off + 2 > end)
		return TS_STATUS_MALFORMED;
	n = ts_u16(r, off); /* cipher_suites */
	if (n < 2 || n % 2)
		return TS_STATUS_MALFORMED;
	off += 2 + n;
	if (off + 1 > end)
		return TS_STATUS_MALFORMED;
	n = ts_u8(r, off); /* legacy_compression_methods */
	if (n < 1)
		return TS_STATUS_MALFORMED;
	off += 1 + n;
	if (off == end)
		return TS_STATUS_NO_SNI; /* no extensions at all */
	if (off + 2 > end || off + 2 + ts_u16(r, off) != end)
		return TS_STATUS_MALFORMED;
	return ts_extensions_walk(r, t, off + 2, end);
}

/*
 * Advances as far as the contiguous bytes allow. Returns TS_STATUS_PENDING
 * or the final status. On a final status it stores the counts in the tag,
 * but not the status: the caller publishes that last, once the tag is whole.
 */
static __always_inline int ts_hello_advance(struct ts_reasm *r, struct ts_tag *t)
{
	int st = ts_records_advance(r);

	if (st == TS_STATUS_PENDING && r->overflow)
		st = TS_STATUS_INCOMPLETE;
	if (st == TS_STATUS_OK)
		st = ts_hello_parse(r, t);
	if (st == TS_STATUS_PENDING)
		return st;
	t->records = r->records;
	t->bytes = r->scan_pos;
	t->segments = r->segments;
	return st;
}

#endif /* TS_CLIENTHELLO_H */
