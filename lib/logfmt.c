// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* logfmt line building, shared by the two connection logs. */
#include "logfmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Keeps room for the newline: a line too long is cut, never overrun. */
static void raw(struct ts_logfmt *l, const char *s, size_t n)
{
	if (l->len + n >= sizeof(l->buf) - 1)
		n = sizeof(l->buf) - 2 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static bool needs_quotes(const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (strchr(" \"=\\", v[i]) && v[i])
			return true;
	return len == 0;
}

void ts_logfmt_field_n(struct ts_logfmt *l, const char *key, const char *v, size_t len)
{
	bool quote = needs_quotes(v, len);
	size_t i;

	if (l->len)
		raw(l, " ", 1);
	raw(l, key, strlen(key));
	raw(l, "=", 1);
	if (quote)
		raw(l, "\"", 1);
	for (i = 0; i < len; i++) {
		char ch = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];

		if (quote && (ch == '"' || ch == '\\'))
			raw(l, "\\", 1);
		raw(l, &ch, 1);
	}
	if (quote)
		raw(l, "\"", 1);
}

void ts_logfmt_field(struct ts_logfmt *l, const char *key, const char *v)
{
	ts_logfmt_field_n(l, key, v, strlen(v));
}

void ts_logfmt_begin(struct ts_logfmt *l, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char sec[24], stamp[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp, sizeof(stamp), "%.19s.%03dZ", sec, (int)(ts.tv_nsec / 1000000) % 1000);
	l->len = 0;
	ts_logfmt_field(l, "ts", stamp);
	ts_logfmt_field(l, "level", "info");
	ts_logfmt_field(l, "msg", msg);
}

void ts_logfmt_write(struct ts_logfmt *l)
{
	l->buf[l->len++] = '\n'; /* raw() always leaves room for it */
	if (write(STDERR_FILENO, l->buf, l->len) < 0)
		return; /* stderr gone: nothing better to do with a log line */
}
