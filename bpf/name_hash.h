/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The policy map's key: the 64-bit FNV-1a hash of a policy name. Shared by
 * the BPF program (which hashes the SNI as it walks it) and userspace.
 */
#ifndef TS_NAME_HASH_H
#define TS_NAME_HASH_H

#include "tagshake.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* FNV-1a, 64 bits */
#define TS_FNV_OFFSET 0xcbf29ce484222325ULL
#define TS_FNV_PRIME 0x00000100000001b3ULL
/* ts_name_hash() of "*.", where a wildcard's hash continues from */
#define TS_HASH_STAR_DOT 0x07e79a07b4aba309ULL
/* ts_name_hash() of the reserved names (tests/test_policy_lookup checks them) */
#define TS_HASH_DEFAULT 0xdbfe0f812e3557c8ULL
#define TS_HASH_NO_SNI 0x4e561a9c1c1b8941ULL

static __always_inline __u64 ts_fnv(__u64 h, __u8 c)
{
	return (h ^ c) * TS_FNV_PRIME;
}

/* The key of a NUL-terminated name (userspace: import, add, del, tests). */
static inline __u64 ts_name_hash(const char *name)
{
	__u64 h = TS_FNV_OFFSET;

	for (__u32 i = 0; i < TS_NAME_SIZE && name[i]; i++)
		h = ts_fnv(h, (__u8)name[i]);
	return h;
}

#endif /* TS_NAME_HASH_H */
