/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The policy lookup order, shared by the BPF program and userspace so both
 * decide with the same function: exact name, then "*." + the name without
 * its first label, then "@default"; "@no-sni" when there is no name.
 *
 * The includer defines ts_policy_map_t and
 *   int ts_policy_get(ts_policy_map_t map, const struct ts_policy_key *key,
 *                     struct ts_policy_value *out)   (0 when found)
 * before including this header.
 */
#ifndef TS_POLICY_H
#define TS_POLICY_H

#include "tagshake.h"
#include "stage.h"

static __always_inline void ts_key_reserved(struct ts_policy_key *k, int no_sni)
{
	__builtin_memset(k, 0, sizeof(*k));
	if (no_sni)
		__builtin_memcpy(k->name, TS_POLICY_NO_SNI, sizeof(TS_POLICY_NO_SNI));
	else
		__builtin_memcpy(k->name, TS_POLICY_DEFAULT, sizeof(TS_POLICY_DEFAULT));
}

struct ts_key_copy {
	const struct ts_policy_key *name;
	struct ts_policy_key *key;
	__u32 dot; /* index of the first dot */
};

/* key[1 + i] = name[dot + i]: the dot and everything after it. */
static long ts_key_copy_byte(__u64 i, void *ctx)
{
	struct ts_key_copy *c = ctx;

	c->key->name[(i + 1) & (TS_NAME_SIZE - 1)] =
		c->name->name[(c->dot + i) & (TS_NAME_SIZE - 1)];
	return 0;
}

/*
 * Builds "*.parent" for a normalised name of `len` bytes. Returns 0 when the
 * name has a single label and so no parent. The copy runs in ts_loop so that
 * the verifier does not multiply it with every exit of the search loop.
 */
static __always_inline int ts_key_wildcard(const struct ts_policy_key *name, __u32 len,
					   struct ts_policy_key *k)
{
	struct ts_key_copy c = { .name = name, .key = k };
	__u32 dot = 0;

	for (__u32 i = 1; i < TS_SNI_MAX && i < len; i++) {
		if (name->name[i] == '.') {
			dot = i;
			break;
		}
	}
	if (dot == 0)
		return 0;
	c.dot = dot;
	__builtin_memset(k, 0, sizeof(*k));
	k->name[0] = '*';
	ts_loop(len - dot, ts_key_copy_byte, &c);
	return 1;
}

/*
 * Decides for a normalised, zero-padded name of `len` bytes (0: no SNI).
 * `scratch` is a caller-provided key buffer. Returns the enum ts_match.
 */
static __always_inline int ts_policy_resolve(ts_policy_map_t map, const struct ts_policy_key *name,
					     __u32 len, struct ts_policy_key *scratch,
					     struct ts_policy_value *out)
{
	if (len == 0) {
		ts_key_reserved(scratch, 1);
		if (ts_policy_get(map, scratch, out) == 0)
			return TS_MATCH_NO_SNI;
		goto nothing;
	}
	/* Keys go through the scratch buffer: 6.1 takes map keys only from the
	 * stack or a map value, not from memory passed to a global function. */
	__builtin_memcpy(scratch, name, sizeof(*scratch));
	if (ts_policy_get(map, scratch, out) == 0)
		return TS_MATCH_EXACT;
	if (ts_key_wildcard(name, len, scratch) && ts_policy_get(map, scratch, out) == 0)
		return TS_MATCH_WILDCARD;
	ts_key_reserved(scratch, 0);
	if (ts_policy_get(map, scratch, out) == 0)
		return TS_MATCH_DEFAULT;
nothing:
	__builtin_memset(out, 0, sizeof(*out));
	return TS_MATCH_NOTHING;
}

#endif /* TS_POLICY_H */
