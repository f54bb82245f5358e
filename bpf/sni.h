/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * SNI normalisation, one byte at a time, so that the BPF parser (reading a
 * reassembly buffer) and userspace (reading OpenSSL's servername) apply the
 * very same rules: ASCII lowercase, host-name syntax (letters, digits,
 * hyphen, underscore; labels of 1..63 bytes that neither start nor end with a
 * hyphen), at most TS_SNI_MAX bytes. The caller drops one trailing dot.
 * Compiles unchanged for BPF and for userspace.
 */
#ifndef TS_SNI_H
#define TS_SNI_H

#include "tagshake.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* RFC 1035 2.3.4: a label is at most 63 octets. */
#define TS_LABEL_MAX 63

struct ts_sni_check {
	__u16 len;       /* bytes accepted so far */
	__u8 label_len;  /* bytes in the current label */
	__u8 prev;       /* previous byte */
	__u8 bad;        /* set once a byte broke the syntax */
};

static __always_inline int ts_sni_is_alnum(__u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static __always_inline __u8 ts_sni_lower(__u8 c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Feeds one byte of the name to the syntax check. */
static __always_inline void ts_sni_push(struct ts_sni_check *s, __u8 c)
{
	c = ts_sni_lower(c);
	if (c == '.') {
		if (s->label_len == 0 || s->prev == '-')
			s->bad = 1;
		s->label_len = 0;
	} else if (c == '-') {
		if (s->label_len == 0)
			s->bad = 1;
		s->label_len++;
	} else if (ts_sni_is_alnum(c)) {
		s->label_len++;
	} else {
		s->bad = 1;
	}
	if (s->label_len > TS_LABEL_MAX)
		s->bad = 1;
	s->prev = c;
	s->len++;
}

/* Returns 1 when the bytes pushed form a valid, non-empty name. */
static __always_inline int ts_sni_valid(const struct ts_sni_check *s)
{
	return !s->bad && s->len > 0 && s->len <= TS_SNI_MAX && s->label_len > 0 &&
	       s->prev != '-';
}

#endif /* TS_SNI_H */
