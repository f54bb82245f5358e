/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The userspace build of the shared ClientHello parser (bpf/clienthello.h). */
#ifndef TS_HELLO_H
#define TS_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include "tagshake.h"

/*
 * Parses a client's first stream bytes as one segment, exactly as the BPF
 * program would, and fills *tag (zeroed first). A stream that ends before
 * the ClientHello does is TS_STATUS_INCOMPLETE. Returns the status.
 */
int ts_hello_parse_bytes(const uint8_t *data, size_t len, struct ts_tag *tag);

/*
 * Splits the tag's ALPN bytes into names: calls fn for each complete name
 * kept in the tag. Returns the number of names seen.
 */
int ts_alpn_each(const struct ts_tag *tag, void (*fn)(const uint8_t *name, size_t len, void *arg),
		 void *arg);

#endif /* TS_HELLO_H */
