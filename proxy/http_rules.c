// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Request rules shared by the HTTP/1.x and HTTP/2 front ends. */
#include "http_rules.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Fields a client never sets for the upstream: the proxy's own forwarding
 * fields, and X-Forwarded-Host and X-Real-IP, which upstreams also trust. */
static const char *const forwarding_names[] = {
	"forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", NULL,
};

static int is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The canonical form of a name byte. */
static char canon(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return c == '_' ? '-' : c;
}

int ts_http_name_eq(const char *name, size_t len, const char *ref)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!ref[i] || canon(name[i]) != canon(ref[i]))
			return 0;
	return ref[i] == '\0';
}

int ts_http_name_in(const char *const *list, const char *name, size_t len)
{
	for (const char *const *s = list; s && *s; s++)
		if (ts_http_name_eq(name, len, *s))
			return 1;
	return 0;
}

int ts_http_forwarding_name(const char *name, size_t len)
{
	return ts_http_name_in(forwarding_names, name, len);
}

int ts_http_parse_authority(const char *a, size_t len, size_t *host_len)
{
	size_t i = 0;

	if (!len)
		return 400;
	if (a[0] == '[') {
		/* an IP literal: hex digits, ':' and '.' */
		for (i = 1; i < len && a[i] != ']'; i++)
			if (!is_alnum(a[i]) && a[i] != ':' && a[i] != '.')
				return 400;
		if (i == len)
			return 400;
		i++;
	} else {
		/* a host name: letters, digits and "-._~" (no pct-encoding or
		 * sub-delims, which no SNI can match) */
		for (; i < len && a[i] != ':'; i++)
			if (!is_alnum(a[i]) && (!a[i] || !strchr("-._~", a[i])))
				return 400;
	}
	*host_len = i;
	if (i == 0)
		return 400;
	if (i == len)
		return 0;
	if (a[i] != ':' || i + 1 == len || len - i - 1 > 5)
		return 400;
	unsigned long port = 0;
	for (size_t j = i + 1; j < len; j++) {
		if (a[j] < '0' || a[j] > '9')
			return 400;
		port = port * 10 + (unsigned long)(a[j] - '0');
	}
	return port >= 1 && port <= 65535 ? 0 : 400;
}

ssize_t ts_http_forwarding_lines(const char *a, char *out, size_t cap)
{
	int v6 = strchr(a, ':') != NULL;
	int n = snprintf(out, cap,
			 "X-Forwarded-For: %s\r\nX-Forwarded-Proto: https\r\n"
			 "Forwarded: for=%s%s%s%s;proto=https\r\n",
			 a, v6 ? "\"[" : "", a, v6 ? "]" : "", v6 ? "\"" : "");

	if (n < 0 || (size_t)n >= cap)
		return -EINVAL;
	return n;
}
