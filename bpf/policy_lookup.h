/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The policy lookup, shared by the BPF program and userspace so both decide
 * with the same function: exact name, then "*." + the name without its first
 * label, then "@default"; "@no-sni" when there is no name.
 *
 * A key is the 64-bit FNV-1a hash of the entry's name (8 bytes for the map
 * to hash instead of 256); the value holds the name itself, compared on
 * every hit, so a colliding hash is only ever a miss.
 *
 * The includer defines ts_policy_map_t and
 *   const struct ts_policy_value *ts_policy_find(ts_policy_map_t map, __u64 hash,
 *                                                struct ts_policy_value *buf)
 * (the entry or NULL; userspace copies it into buf) before including this.
 */
#ifndef TS_POLICY_LOOKUP_H
#define TS_POLICY_LOOKUP_H

#include "tagshake.h"
#include "name_hash.h"
#include "stage.h"

/* Bytes of a name hashed or compared per ts_loop step. */
#define TS_NAME_CHUNK 8

/* What a lookup needs to know about the name; in map memory in BPF (6.1 does
 * not see a ts_loop callback's writes to its caller's stack). */
struct ts_name_scan {
	__u64 exact;    /* hash of the name */
	__u64 wildcard; /* hash of "*." + the name after its first dot */
	__u32 dot;      /* index of the first dot, 0 when none */
	__u32 differs;  /* set by a name comparison */
};

struct ts_name_walk {
	const char *name; /* zero padded to TS_NAME_SIZE */
	const char *other;
	struct ts_name_scan *scan;
	__u32 len;
};

static long ts_name_scan_step(__u64 i, void *ctx)
{
	struct ts_name_walk *w = ctx;
	struct ts_name_scan *s = w->scan;

	for (__u32 j = 0; j < TS_NAME_CHUNK; j++) {
		__u32 at = i * TS_NAME_CHUNK + j;
		__u8 c;

		if (at >= w->len)
			break;
		c = (__u8)w->name[at & (TS_NAME_SIZE - 1)];
		s->exact = ts_fnv(s->exact, c);
		if (s->dot)
			s->wildcard = ts_fnv(s->wildcard, c);
		else if (c == '.')
			s->dot = at;
	}
	return 0;
}

/* other[i] against "*." + name[dot + 1 + i - 2] and the NUL after it. */
static long ts_name_wild_step(__u64 i, void *ctx)
{
	struct ts_name_walk *w = ctx;
	struct ts_name_scan *s = w->scan;

	for (__u32 j = 0; j < TS_NAME_CHUNK; j++) {
		__u32 at = i * TS_NAME_CHUNK + j; /* index in other, from 2 */
		__u32 from = s->dot + at - 1;      /* the same byte in name */
		__u8 want = from < w->len ? (__u8)w->name[from & (TS_NAME_SIZE - 1)] : 0;

		if (at < 2 || at >= TS_NAME_SIZE)
			continue;
		s->differs |= (__u8)w->other[at & (TS_NAME_SIZE - 1)] != want;
		if (!want)
			return 1;
	}
	return 0;
}

/* Whether two zero-padded names are the same, a word at a time. */
static __always_inline int ts_name_same(const char *a, const char *b)
{
	__u64 diff = 0;

	for (__u32 i = 0; i < TS_NAME_SIZE; i += 8) {
		__u64 x, y;

		__builtin_memcpy(&x, a + i, 8);
		__builtin_memcpy(&y, b + i, 8);
		diff |= x ^ y;
	}
	return diff == 0;
}

/* Whether an entry's name is `reserved` (a short literal, NUL included). */
static __always_inline int ts_name_is(const char *name, const char *reserved, __u32 size)
{
	__u32 diff = 0;

	for (__u32 i = 0; i < size && i < TS_NAME_SIZE; i++)
		diff |= (__u8)name[i] ^ (__u8)reserved[i];
	return diff == 0;
}

static __always_inline void ts_policy_take(const struct ts_policy_value *v,
					   struct ts_policy_value *out)
{
	out->action = v->action;
	out->cert_id = v->cert_id;
	out->ca_id = v->ca_id;
	out->route_id = v->route_id;
	out->generation = v->generation;
}

/*
 * Decides for a normalised name, zero padded to TS_NAME_SIZE, of `len`
 * bytes (0: no SNI). `scan` is scratch, `buf` room for one entry (userspace).
 * Fills out's action and ids; returns the enum ts_match.
 */
static __always_inline int ts_policy_resolve(ts_policy_map_t map, const char *name, __u32 len,
					     struct ts_name_scan *scan, struct ts_policy_value *buf,
					     struct ts_policy_value *out)
{
	struct ts_name_walk w = { .name = name, .scan = scan, .len = len };
	const struct ts_policy_value *v;

	out->action = TS_ACTION_NONE;
	out->cert_id = out->ca_id = out->route_id = 0;
	out->generation = 0;
	if (len == 0) {
		v = ts_policy_find(map, TS_HASH_NO_SNI, buf);
		if (v && ts_name_is(v->name, TS_POLICY_NO_SNI, sizeof(TS_POLICY_NO_SNI))) {
			ts_policy_take(v, out);
			return TS_MATCH_NO_SNI;
		}
		return TS_MATCH_NOTHING;
	}
	if (len > TS_SNI_MAX)
		return TS_MATCH_NOTHING;
	scan->exact = TS_FNV_OFFSET;
	scan->wildcard = TS_HASH_STAR_DOT;
	scan->dot = 0;
	scan->differs = 0;
	ts_loop((len + TS_NAME_CHUNK - 1) / TS_NAME_CHUNK, ts_name_scan_step, &w);
	v = ts_policy_find(map, scan->exact, buf);
	if (v && ts_name_same(v->name, name)) {
		ts_policy_take(v, out);
		return TS_MATCH_EXACT;
	}
	if (scan->dot) {
		v = ts_policy_find(map, scan->wildcard, buf);
		if (v && v->name[0] == '*' && v->name[1] == '.') {
			w.other = v->name;
			ts_loop(TS_NAME_SIZE / TS_NAME_CHUNK, ts_name_wild_step, &w);
			if (!scan->differs) {
				ts_policy_take(v, out);
				return TS_MATCH_WILDCARD;
			}
		}
	}
	v = ts_policy_find(map, TS_HASH_DEFAULT, buf);
	if (v && ts_name_is(v->name, TS_POLICY_DEFAULT, sizeof(TS_POLICY_DEFAULT))) {
		ts_policy_take(v, out);
		return TS_MATCH_DEFAULT;
	}
	return TS_MATCH_NOTHING;
}

#endif /* TS_POLICY_LOOKUP_H */
