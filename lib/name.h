/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* SNI and policy-name normalisation for userspace, same rules as the BPF
 * parser (bpf/sni.h): lowercase, one trailing dot dropped, host-name syntax. */
#ifndef TS_NAME_H
#define TS_NAME_H

#include <stddef.h>

/* Normalises an SNI into out (TS_NAME_SIZE bytes, NUL terminated).
 * Returns its length or -EINVAL for an invalid name. */
int ts_name_normalise(const char *in, size_t len, char *out);
/* Same for a policy key: a name or "*." + name. */
int ts_name_normalise_key(const char *in, size_t len, char *out);

#endif /* TS_NAME_H */
