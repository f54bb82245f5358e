// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "hello.h"

#include <stdlib.h>
#include <string.h>

#include "clienthello.h"

int ts_hello_parse_bytes(const uint8_t *data, size_t len, struct ts_tag *tag)
{
	struct ts_reasm *r = calloc(1, sizeof(*r));
	__u32 start = 0, end = len > TS_HELLO_MAX ? TS_HELLO_MAX : (__u32)len;
	int st;

	memset(tag, 0, sizeof(*tag));
	if (!r)
		return -1;
	r->segments = 1;
	if (ts_reasm_clip(r, &start, &end)) {
		memcpy(r->buf, data, end);
		ts_reasm_note(r, start, end);
	}
	st = ts_hello_advance(r, tag);
	if (st == TS_STATUS_PENDING) {
		/* the end of the input is the end of the stream */
		st = TS_STATUS_INCOMPLETE;
		tag->segments = r->segments;
	}
	tag->status = st;
	free(r);
	return st;
}

int ts_alpn_each(const struct ts_tag *tag, void (*fn)(const uint8_t *name, size_t len, void *arg),
		 void *arg)
{
	size_t kept = tag->alpn_len < TS_ALPN_SIZE ? tag->alpn_len : TS_ALPN_SIZE;
	size_t off = 0;
	int n = 0;

	while (off < kept) {
		size_t len = tag->alpn[off];

		if (off + 1 + len > kept)
			break; /* cut off by TS_ALPN_SIZE */
		fn(&tag->alpn[off + 1], len, arg);
		off += 1 + len;
		n++;
	}
	return n;
}
