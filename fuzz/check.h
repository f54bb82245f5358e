/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What the fuzz harnesses share: an invariant check that crashes (so
 * libFuzzer keeps the input) and an SNI syntax check written apart from
 * bpf/sni.h, so the harnesses do not judge the parser by its own rules. */
#ifndef TS_FUZZ_CHECK_H
#define TS_FUZZ_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "tagshake.h"

#define check(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "invariant broken: %s (%s:%d)\n", #cond, __FILE__, \
				__LINE__);                                              \
			abort();                                                        \
		}                                                                       \
	} while (0)

/* RFC 1035 2.3.4 */
#define FUZZ_LABEL_MAX 63

static inline int fuzz_label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* A host name as tagshake normalises it: lowercase labels of 1..63 bytes of
 * letters, digits, '_' and '-', no hyphen at either end of a label, no
 * trailing dot, 1..253 bytes in all. */
static inline int fuzz_sni_is_normalised(const char *s, size_t len)
{
	size_t start = 0;

	if (len < 1 || len > TS_SNI_MAX)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!fuzz_label_char(s[i]))
				return 0;
			continue;
		}
		if (i == start || i - start > FUZZ_LABEL_MAX || s[start] == '-' || s[i - 1] == '-')
			return 0;
		start = i + 1;
	}
	return 1;
}

#endif /* TS_FUZZ_CHECK_H */
