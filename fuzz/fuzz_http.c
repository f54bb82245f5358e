// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness for the proxy's HTTP header path (proxy/http_inject.c):
 * client bytes fed in the pieces and with the output room the input's first
 * two bytes choose, as the proxy feeds them. Checks, beyond ASan/UBSan:
 * calls stay within their buffers, a stall never holds more than one head,
 * a local answer is one of the documented statuses, and the first request
 * head that goes upstream carries exactly the injected metadata header (no
 * client copy survives) and, in origin form, only the allowed Host.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "http_inject.h"

#define INJECT "X-TS-Meta: 1\r\n"
#define ALLOWED_HOST "example.com"
/* What the harness keeps of the upstream bytes: enough for the first head. */
#define UPSTREAM_KEEP (4 * TS_HTTP_HEAD_MAX)
/* The proxy's input buffer for this filter (PX_HTTP_IN_BUF in proxy/proxy.h):
 * a filter that takes nothing from a full buffer stalls the connection. */
#define PROXY_IN_BUF 16384
/* Output room: a rebuilt head plus up to 255 * 64 bytes more. */
#define OUT_CAP (4 * TS_HTTP_HEAD_MAX)

static const char *const strip[] = { "x-ts-meta", "x-client-cert", NULL };

static int host_is_allowed(const char *host, size_t len)
{
	size_t n = strlen(ALLOWED_HOST);

	if (len < n || strncasecmp(host, ALLOWED_HOST, n))
		return 0;
	return len == n || host[n] == ':';
}

static int host_check(void *ctx, const char *host, size_t len)
{
	(void)ctx;
	return host_is_allowed(host, len) ? 0 : 421;
}

static size_t trim(const char **p, size_t len)
{
	while (len && (**p == ' ' || **p == '\t')) {
		(*p)++;
		len--;
	}
	while (len && ((*p)[len - 1] == ' ' || (*p)[len - 1] == '\t'))
		len--;
	return len;
}

/* Looks at the first head sent upstream, line by line. */
static void check_first_head(const char *up, size_t len)
{
	const char *end = memmem(up, len, "\r\n\r\n", 4), *line = up;
	int metas = 0, origin_form;

	if (!end)
		return; /* the head is not complete upstream */
	line = memmem(up, (size_t)(end + 2 - up), "\r\n", 2) + 2;
	/* an absolute-form target carries the authority; Host is then ignored */
	origin_form = !memmem(up, (size_t)(line - up), "://", 3);
	while (line < end + 2) {
		const char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		const char *colon = memchr(line, ':', (size_t)(eol - line));
		const char *value;
		size_t name_len, value_len;

		check(eol && colon);
		name_len = (size_t)(colon - line);
		value = colon + 1;
		value_len = trim(&value, (size_t)(eol - value));
		check(!(name_len == 13 && !strncasecmp(line, "x-client-cert", 13)));
		if (name_len == 9 && !strncasecmp(line, "x-ts-meta", 9)) {
			metas++;
			check(value_len == 1 && value[0] == '1');
		}
		if (origin_form && name_len == 4 && !strncasecmp(line, "host", 4))
			check(host_is_allowed(value, value_len));
		line = eol + 2;
	}
	check(metas == 1);
}

static void check_answer(int rc)
{
	char buf[512];
	size_t n;

	check(rc == 400 || rc == 421 || rc == 431 || rc == 501);
	n = ts_http_local_response(rc, buf, sizeof(buf));
	check(n > 12 && n < sizeof(buf) && !memcmp(buf, "HTTP/1.1 ", 9));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char up[UPSTREAM_KEEP], out[OUT_CAP];
	struct ts_http_inject *h;
	size_t piece, room, off = 0, up_len = 0, avail = 0;
	int rc = 0;

	if (len < 2)
		return 0;
	piece = 1 + (size_t)data[0] * 67;  /* 1 .. 17086 bytes per read */
	room = (size_t)data[1] * 64;       /* extra output room beyond a head */
	data += 2;
	len -= 2;
	h = ts_http_inject_new(INJECT, strlen(INJECT), strip, host_check, NULL);
	check(h);
	room += ts_http_inject_reserve(h);
	check(room <= sizeof(out));
	while (off < len && !rc) {
		size_t in_len, out_len = 0, used = 0;

		/* the proxy reads another piece into its buffer, up to its size */
		avail = avail + piece > PROXY_IN_BUF ? PROXY_IN_BUF : avail + piece;
		in_len = len - off < avail ? len - off : avail;
		rc = ts_http_inject_feed(h, (const char *)data + off, in_len, out, &out_len, room,
					 &used);
		check(out_len <= room && used <= in_len);
		if (up_len < sizeof(up)) {
			size_t keep = sizeof(up) - up_len < out_len ? sizeof(up) - up_len : out_len;

			memcpy(up + up_len, out, keep);
			up_len += keep;
		}
		off += used;
		avail -= used;
		if (!used && !out_len && !rc) {
			/* no progress: fine while waiting for the client, a hang with
			 * a full buffer */
			check(in_len < PROXY_IN_BUF);
			if (in_len == len - off)
				break;
		}
	}
	if (rc)
		check_answer(rc);
	check_first_head(up, up_len);
	ts_http_inject_free(h);
	return 0;
}
