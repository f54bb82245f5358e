// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Differential libFuzzer harness for the proxy's HTTP path
 * (proxy/http_inject.c on llhttp): client bytes fed in the pieces and with
 * the output room the input's first two bytes choose, as the proxy feeds
 * them; every byte that goes upstream is then read back by a reference
 * reader written here, apart from llhttp.
 *
 * Why not a second llhttp instance: it would share the first one's code and
 * so its mistakes; what matters is how an independent upstream splits the
 * bytes. The proxy writes one canonical form (origin-form request line,
 * "Name: value" fields, Content-Length or its own chunks), so the reference
 * reader can be small and stricter than any upstream: anything outside that
 * form is a divergence.
 *
 * Checks, beyond ASan/UBSan: the upstream bytes are a sequence of requests
 * in that form (the last one's body may be cut where the input ended);
 * exactly as many request heads as the proxy counted; in each head one Host,
 * allowed, in first place; the injected metadata field exactly once with the
 * proxy's value and no other field whose canonical name is an identity
 * name; the forwarding fields exactly the proxy's; at most one framing
 * field. A local answer is one of the documented statuses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "http_inject.h"

#define INJECT "X-TS-Meta: 1\r\n"
#define ALLOWED_HOST "example.com"
#define CLIENT_ADDR "192.0.2.1"
/* The proxy's input buffer for this filter (PX_HTTP_IN_BUF in proxy/proxy.h):
 * a filter that takes nothing from a full buffer stalls the connection. */
#define PROXY_IN_BUF 16384
/* Output room: a rebuilt head plus up to 255 * 64 bytes more. */
#define OUT_CAP (4 * TS_HTTP_HEAD_MAX)
/* Chunk sizes the proxy writes: 16 hex digits at most. */
#define CHUNK_DIGITS_MAX 16

static const char *const strip[] = { "x-ts-meta", "x-client-cert", "client-cert", NULL };

/* ---- the reference reader (no code shared with proxy/http_inject.c) ---- */

static int ref_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Case-insensitive, '_' as '-': how CGI, WSGI and nginx with
 * underscores_in_headers may read a name. */
static int ref_name_is(const char *n, size_t len, const char *ref)
{
	if (strlen(ref) != len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char a = n[i] == '_' ? '-' : n[i], b = ref[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != b)
			return 0;
	}
	return 1;
}

static int ref_value_is(const char *v, size_t len, const char *ref)
{
	return strlen(ref) == len && !memcmp(v, ref, len);
}

struct ref_head {
	int hosts, metas, xff, xfp, fwd, cl, te;
	unsigned long long content_length;
};

/* One field line [p, eol). */
static void ref_field(const char *p, const char *eol, int first, struct ref_head *r)
{
	const char *colon = memchr(p, ':', (size_t)(eol - p));
	size_t name_len, value_len;
	const char *value;

	check(colon && colon > p);
	name_len = (size_t)(colon - p);
	for (size_t i = 0; i < name_len; i++)
		check(ref_tchar((unsigned char)p[i]));
	check(colon + 1 < eol ? colon[1] == ' ' : 1);
	value = colon + 1 < eol ? colon + 2 : eol;
	value_len = (size_t)(eol - value);
	for (size_t i = 0; i < value_len; i++)
		check((unsigned char)value[i] >= 0x20 ? value[i] != 0x7f : value[i] == '\t');
	if (ref_name_is(p, name_len, "host")) {
		check(first && r->hosts++ == 0);
		check((value_len == strlen(ALLOWED_HOST) ||
		       (value_len > strlen(ALLOWED_HOST) && value[strlen(ALLOWED_HOST)] == ':')) &&
		      !strncasecmp(value, ALLOWED_HOST, strlen(ALLOWED_HOST)));
	} else if (ref_name_is(p, name_len, "x-ts-meta")) {
		check(ref_value_is(value, value_len, "1") && r->metas++ == 0);
	} else if (ref_name_is(p, name_len, "x-client-cert") ||
		   ref_name_is(p, name_len, "client-cert") ||
		   ref_name_is(p, name_len, "x-forwarded-host") ||
		   ref_name_is(p, name_len, "x-real-ip")) {
		check(!"a client's identity or forwarding field went upstream");
	} else if (ref_name_is(p, name_len, "x-forwarded-for")) {
		check(ref_value_is(value, value_len, CLIENT_ADDR) && r->xff++ == 0);
	} else if (ref_name_is(p, name_len, "x-forwarded-proto")) {
		check(ref_value_is(value, value_len, "https") && r->xfp++ == 0);
	} else if (ref_name_is(p, name_len, "forwarded")) {
		check(ref_value_is(value, value_len, "for=" CLIENT_ADDR ";proto=https") &&
		      r->fwd++ == 0);
	} else if (ref_name_is(p, name_len, "content-length")) {
		check(r->cl++ == 0 && value_len > 0 && value_len <= 20);
		r->content_length = 0;
		for (size_t i = 0; i < value_len; i++) {
			check(value[i] >= '0' && value[i] <= '9');
			r->content_length = r->content_length * 10 + (unsigned)(value[i] - '0');
		}
	} else if (ref_name_is(p, name_len, "transfer-encoding")) {
		check(r->te++ == 0 && ref_value_is(value, value_len, "chunked"));
	}
}

/* The request line: method SP origin-form SP HTTP/1.0 or HTTP/1.1. */
static void ref_request_line(const char *p, const char *eol)
{
	const char *sp = memchr(p, ' ', (size_t)(eol - p)), *t;

	check(sp && sp > p);
	for (const char *c = p; c < sp; c++)
		check(ref_tchar((unsigned char)*c));
	t = sp + 1;
	check(t < eol && *t == '/');
	while (t < eol && *t != ' ') {
		check((unsigned char)*t > 0x20 && *t != 0x7f && *t != '#');
		t++;
	}
	check(eol - t == 9 && (!memcmp(t, " HTTP/1.1", 9) || !memcmp(t, " HTTP/1.0", 9)));
}

/* A head at [*pos, n): returns 1 and moves *pos past it. */
static void ref_head(const char *up, size_t n, size_t *pos, struct ref_head *r)
{
	const char *p = up + *pos, *end = memmem(p, n - *pos, "\r\n\r\n", 4), *eol;
	int first = 1;

	check(end); /* heads go upstream whole */
	*r = (struct ref_head){ 0 };
	eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
	for (const char *c = p; c < end; c++)
		check(*c != '\n' || c[-1] == '\r');
	ref_request_line(p, eol);
	for (p = eol + 2; p < end + 2; p = eol + 2, first = 0) {
		eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		ref_field(p, eol, first, r);
	}
	check(r->hosts == 1 && r->metas == 1 && r->xff == 1 && r->xfp == 1 && r->fwd == 1);
	check(!(r->cl && r->te));
	*pos = (size_t)(end + 4 - up);
}

/* A body; returns 0 when the stream ends inside it. */
static int ref_body(const char *up, size_t n, size_t *pos, const struct ref_head *r)
{
	if (r->cl) {
		if (n - *pos < r->content_length)
			return 0;
		*pos += r->content_length;
		return 1;
	}
	if (!r->te)
		return 1;
	for (;;) {
		unsigned long long size = 0;
		size_t digits = 0;

		while (*pos < n && up[*pos] != '\r') {
			char c = up[*pos];
			check(digits < CHUNK_DIGITS_MAX &&
			      ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));
			check(digits > 0 || c != '0' || (*pos + 1 < n ? up[*pos + 1] == '\r' : 1));
			size = size * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
			digits++;
			(*pos)++;
		}
		if (*pos + 2 > n)
			return 0;
		check(digits && up[*pos + 1] == '\n');
		*pos += 2;
		if (size == 0) {
			if (*pos + 2 > n)
				return 0;
			check(up[*pos] == '\r' && up[*pos + 1] == '\n'); /* no trailers */
			*pos += 2;
			return 1;
		}
		if (n - *pos < size || n - *pos - size < 2)
			return 0; /* (size + 2 would wrap for 16 f's) */
		*pos += size;
		check(up[*pos] == '\r' && up[*pos + 1] == '\n');
		*pos += 2;
	}
}

/* Reads the whole upstream stream; returns the request heads in it. */
static unsigned long ref_read(const char *up, size_t n)
{
	unsigned long heads = 0;
	size_t pos = 0;
	struct ref_head r;

	while (pos < n) {
		ref_head(up, n, &pos, &r);
		heads++;
		if (!ref_body(up, n, &pos, &r))
			break;
	}
	return heads;
}

/* ---- the proxy side ---- */

static int host_check(void *ctx, const char *host, size_t len)
{
	(void)ctx;
	return len == strlen(ALLOWED_HOST) && !strncasecmp(host, ALLOWED_HOST, len) ? 0 : 421;
}

static void check_answer(int rc)
{
	char buf[512];
	size_t n;

	check(rc == 400 || rc == 421 || rc == 431 || rc == 501);
	n = ts_http_local_response(rc, buf, sizeof(buf));
	check(n > 12 && n < sizeof(buf) && !memcmp(buf, "HTTP/1.1 ", 9));
}

/* Appends the output to the upstream stream. */
static void keep(char **up, size_t *up_len, size_t *up_cap, const char *out, size_t n)
{
	if (!n)
		return;
	if (*up_len + n > *up_cap) {
		*up_cap = (*up_len + n) * 2;
		*up = realloc(*up, *up_cap);
		check(*up);
	}
	memcpy(*up + *up_len, out, n);
	*up_len += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char out[OUT_CAP];
	struct ts_http_inject *h;
	size_t piece, room, off = 0, up_len = 0, up_cap = 0, avail = 0, out_len, used;
	char *up = NULL;
	int rc = 0;

	if (len < 2)
		return 0;
	piece = 1 + (size_t)data[0] * 67; /* 1 .. 17086 bytes per read */
	room = (size_t)data[1] * 64;      /* extra output room beyond a head */
	data += 2;
	len -= 2;
	h = ts_http_inject_new(&(struct ts_http_opts){ .inject = INJECT,
						       .inject_len = strlen(INJECT),
						       .strip = strip,
						       .check = host_check,
						       .sni = ALLOWED_HOST,
						       .client_addr = CLIENT_ADDR });
	check(h);
	room += ts_http_inject_reserve(h);
	check(room <= sizeof(out));
	while (off < len && !rc) {
		size_t in_len;

		out_len = used = 0;
		/* the proxy reads another piece into its buffer, up to its size */
		avail = avail + piece > PROXY_IN_BUF ? PROXY_IN_BUF : avail + piece;
		in_len = len - off < avail ? len - off : avail;
		rc = ts_http_inject_feed(h, (const char *)data + off, in_len, out, &out_len, room,
					 &used);
		check(out_len <= room && used <= in_len);
		keep(&up, &up_len, &up_cap, out, out_len);
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
	if (rc) {
		check_answer(rc);
	} else {
		/* a head still waiting for room goes once there is some */
		out_len = 0;
		rc = ts_http_inject_feed(h, "", 0, out, &out_len, room, &used);
		check(rc == 0);
		keep(&up, &up_len, &up_cap, out, out_len);
	}
	check(ref_read(up, up_len) == ts_http_inject_requests(h));
	free(up);
	ts_http_inject_free(h);
	return 0;
}
