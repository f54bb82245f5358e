/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* logfmt lines (key=value ...) built whole in memory and written to
 * stderr with one write(2), so that lines of different threads never
 * interleave: the connection logs of tagshaked and tagshake-proxy. */
#ifndef TS_LOGFMT_H
#define TS_LOGFMT_H

#include <stddef.h>

/* SNI and policy (253 each), a subject DN, the rest */
#define TS_LOGFMT_LINE_MAX 2048

struct ts_logfmt {
	char buf[TS_LOGFMT_LINE_MAX];
	size_t len;
};

/* Starts a line: ts=<UTC, ms> level=info msg=<msg>. */
void ts_logfmt_begin(struct ts_logfmt *l, const char *msg);
/* key=value, quoted when the value is empty or has a space, '"', '=' or
 * '\'; control characters (from a client's certificate) become '?'. */
void ts_logfmt_field(struct ts_logfmt *l, const char *key, const char *v);
/* The same for len bytes that need not end in a NUL. */
void ts_logfmt_field_n(struct ts_logfmt *l, const char *key, const char *v, size_t len);
/* Ends the line and writes it to stderr. */
void ts_logfmt_write(struct ts_logfmt *l);

#endif /* TS_LOGFMT_H */
