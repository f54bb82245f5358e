// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * HTTP/1.1 request rewriting on top of http-parser. The parser is paused at
 * the end of each head and of each message, so that every input byte is
 * known to belong to a head (dropped here: the head is rebuilt from the
 * parser's callbacks) or to a body or chunk framing (forwarded unchanged).
 */
#include "http_inject.h"

#include <errno.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum phase {
	PHASE_HEAD,   /* bytes go to the head being collected */
	PHASE_BODY,   /* bytes are forwarded */
};

enum pause_reason {
	PAUSE_NONE = 0,
	PAUSE_HEAD_DONE,
	PAUSE_MESSAGE_DONE,
};

struct field {
	unsigned name_off, name_len, value_off, value_len;
};

struct ts_http_inject {
	http_parser parser;
	http_parser_settings settings;
	enum phase phase;
	enum pause_reason pause;
	int status;            /* local answer decided in a callback */
	size_t skip;           /* input bytes already accounted for, fed again */
	char arena[TS_HTTP_HEAD_MAX]; /* URL, names and values of this head */
	unsigned arena_len;
	unsigned url_off, url_len;
	struct field fields[TS_HTTP_FIELDS_MAX];
	unsigned nfields;
	int in_value; /* the last callback was a value */
	char *inject;
	size_t inject_len;
	const char *const *strip;
	ts_http_host_check check;
	void *ctx;
	unsigned long requests;
	char *head_out; /* the rebuilt head, waiting for room */
	size_t head_len;
};

static struct ts_http_inject *of(http_parser *p)
{
	return p->data;
}

static int arena_add(struct ts_http_inject *h, const char *at, size_t len)
{
	if (len > sizeof(h->arena) - h->arena_len) {
		h->status = 431;
		return -1;
	}
	memcpy(h->arena + h->arena_len, at, len);
	h->arena_len += (unsigned)len;
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct ts_http_inject *h = of(p);

	h->arena_len = h->url_off = h->url_len = 0;
	h->nfields = 0;
	h->in_value = 0;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct ts_http_inject *h = of(p);

	if (arena_add(h, at, len))
		return -1;
	h->url_len += (unsigned)len;
	return 0;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
	struct ts_http_inject *h = of(p);
	struct field *f;

	if (h->nfields == 0 || h->in_value) {
		if (h->nfields == TS_HTTP_FIELDS_MAX) {
			h->status = 431;
			return -1;
		}
		f = &h->fields[h->nfields++];
		*f = (struct field){ .name_off = h->arena_len, .value_off = h->arena_len };
		h->in_value = 0;
	}
	f = &h->fields[h->nfields - 1];
	if (arena_add(h, at, len))
		return -1;
	f->name_len += (unsigned)len;
	f->value_off = h->arena_len;
	return 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
	struct ts_http_inject *h = of(p);
	struct field *f = &h->fields[h->nfields - 1];

	h->in_value = 1;
	if (arena_add(h, at, len))
		return -1;
	f->value_len += (unsigned)len;
	return 0;
}

static int is_stripped(const struct ts_http_inject *h, const struct field *f)
{
	for (const char *const *s = h->strip; s && *s; s++)
		if (strlen(*s) == f->name_len && !strncasecmp(*s, h->arena + f->name_off, f->name_len))
			return 1;
	return 0;
}

/* The authority: the host of an absolute-form target, else the one Host
 * field (RFC 9112, 3.2.2 and 3.2.3). Returns 400 when it is ambiguous. */
static int check_authority(struct ts_http_inject *h)
{
	const char *url = h->arena + h->url_off;
	const char *host = NULL;
	size_t host_len = 0;
	int hosts = 0;
	struct http_parser_url u;

	for (unsigned i = 0; i < h->nfields; i++) {
		const struct field *f = &h->fields[i];
		if (f->name_len == 4 && !strncasecmp(h->arena + f->name_off, "host", 4)) {
			host = h->arena + f->value_off;
			host_len = f->value_len;
			hosts++;
		}
	}
	if (hosts > 1 || (hosts == 0 && h->parser.http_major == 1 && h->parser.http_minor >= 1))
		return 400;
	http_parser_url_init(&u);
	if (h->parser.method != HTTP_CONNECT && h->url_len && url[0] != '/' && url[0] != '*' &&
	    http_parser_parse_url(url, h->url_len, 0, &u) == 0 && (u.field_set & (1 << UF_HOST))) {
		host = url + u.field_data[UF_HOST].off;
		host_len = u.field_data[UF_HOST].len;
	}
	if (!host)
		return 0; /* HTTP/1.0 without Host: the connection's own policy */
	return h->check ? h->check(h->ctx, host, host_len) : 0;
}

static int field_is(const struct ts_http_inject *h, const struct field *f, const char *name)
{
	return f->name_len == strlen(name) && !strncasecmp(h->arena + f->name_off, name, f->name_len);
}

/*
 * Message framing is re-stated from what the parser decided, never copied:
 * the upstream then delimits each body exactly as the parser did, so no
 * request can hide inside another one's body and pass the header stripping
 * (request smuggling). A transfer coding other than plain "chunked" is not
 * taken (501, RFC 9112 6.1).
 */
static int check_framing(struct ts_http_inject *h)
{
	for (unsigned i = 0; i < h->nfields; i++) {
		const struct field *f = &h->fields[i];
		if (field_is(h, f, "transfer-encoding") &&
		    !(f->value_len == 7 && !strncasecmp(h->arena + f->value_off, "chunked", 7)))
			return 501;
	}
	return 0;
}

static size_t framing(const struct ts_http_inject *h, char *o, size_t cap)
{
	if (h->parser.flags & F_CHUNKED)
		return (size_t)snprintf(o, cap, "Transfer-Encoding: chunked\r\n");
	if (h->parser.flags & F_CONTENTLENGTH)
		return (size_t)snprintf(o, cap, "Content-Length: %llu\r\n",
					(unsigned long long)h->parser.content_length);
	return 0;
}

static int build_head(struct ts_http_inject *h)
{
	/* request line and field separators, one framing field, the end */
	size_t cap = h->arena_len + 4 * h->nfields + h->inject_len + 128;
	char *o = malloc(cap);
	size_t n;

	if (!o)
		return -1;
	n = (size_t)snprintf(o, cap, "%s %.*s HTTP/%u.%u\r\n",
			     http_method_str((enum http_method)h->parser.method), (int)h->url_len,
			     h->arena + h->url_off, h->parser.http_major, h->parser.http_minor);
	for (unsigned i = 0; i < h->nfields; i++) {
		const struct field *f = &h->fields[i];
		if (is_stripped(h, f) || field_is(h, f, "content-length") ||
		    field_is(h, f, "transfer-encoding"))
			continue;
		memcpy(o + n, h->arena + f->name_off, f->name_len);
		n += f->name_len;
		memcpy(o + n, ": ", 2);
		memcpy(o + n + 2, h->arena + f->value_off, f->value_len);
		n += 2 + f->value_len;
		memcpy(o + n, "\r\n", 2);
		n += 2;
	}
	n += framing(h, o + n, cap - n);
	memcpy(o + n, h->inject, h->inject_len);
	n += h->inject_len;
	memcpy(o + n, "\r\n", 2);
	h->head_out = o;
	h->head_len = n + 2;
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct ts_http_inject *h = of(p);

	if (p->upgrade) {
		/* A tunnel would carry later requests past the rewriting. */
		h->status = 501;
		return -1;
	}
	h->status = check_framing(h);
	if (!h->status)
		h->status = check_authority(h);
	if (h->status)
		return -1;
	if (build_head(h)) {
		h->status = 500;
		return -1;
	}
	h->pause = PAUSE_HEAD_DONE;
	http_parser_pause(p, 1);
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct ts_http_inject *h = of(p);

	h->pause = PAUSE_MESSAGE_DONE;
	http_parser_pause(p, 1);
	return 0;
}

struct ts_http_inject *ts_http_inject_new(const char *inject, size_t inject_len,
					  const char *const *strip, ts_http_host_check check,
					  void *ctx)
{
	struct ts_http_inject *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->inject = malloc(inject_len + 1);
	if (!h->inject) {
		free(h);
		return NULL;
	}
	memcpy(h->inject, inject, inject_len);
	h->inject_len = inject_len;
	h->strip = strip;
	h->check = check;
	h->ctx = ctx;
	http_parser_init(&h->parser, HTTP_REQUEST);
	h->parser.data = h;
	http_parser_settings_init(&h->settings);
	h->settings.on_message_begin = on_message_begin;
	h->settings.on_url = on_url;
	h->settings.on_header_field = on_field;
	h->settings.on_header_value = on_value;
	h->settings.on_headers_complete = on_headers_complete;
	h->settings.on_message_complete = on_message_complete;
	return h;
}

void ts_http_inject_free(struct ts_http_inject *h)
{
	if (!h)
		return;
	free(h->head_out);
	free(h->inject);
	free(h);
}

size_t ts_http_inject_reserve(const struct ts_http_inject *h)
{
	return TS_HTTP_HEAD_MAX + 4 * TS_HTTP_FIELDS_MAX + h->inject_len + 64;
}

unsigned long ts_http_inject_requests(const struct ts_http_inject *h)
{
	return h->requests;
}

/* Moves the rebuilt head to out once there is room. */
static int flush_head(struct ts_http_inject *h, char *out, size_t *out_len, size_t out_cap)
{
	if (!h->head_out)
		return 0;
	if (out_cap - *out_len < h->head_len)
		return -EAGAIN;
	memcpy(out + *out_len, h->head_out, h->head_len);
	*out_len += h->head_len;
	free(h->head_out);
	h->head_out = NULL;
	h->requests++;
	return 0;
}

/* Forwards body bytes [from, from + n), minus those already accounted for. */
static void forward(struct ts_http_inject *h, const char *from, size_t n, char *out,
		    size_t *out_len)
{
	size_t skip = h->skip < n ? h->skip : n;

	h->skip -= skip;
	memcpy(out + *out_len, from + skip, n - skip);
	*out_len += n - skip;
}

int ts_http_inject_feed(struct ts_http_inject *h, const char *in, size_t in_len, char *out,
			size_t *out_len, size_t out_cap, size_t *consumed)
{
	size_t pos = 0;

	while (pos < in_len) {
		if (flush_head(h, out, out_len, out_cap))
			break;
		size_t avail = in_len - pos;
		if (h->phase == PHASE_BODY && avail > out_cap - *out_len + h->skip)
			avail = out_cap - *out_len + h->skip;
		if (avail == 0)
			break;
		h->pause = PAUSE_NONE;
		size_t n = http_parser_execute(&h->parser, &h->settings, in + pos, avail);
		enum http_errno err = HTTP_PARSER_ERRNO(&h->parser);
		if (err != HPE_OK && err != HPE_PAUSED) {
			*consumed = pos;
			return h->status ? h->status : 400;
		}
		if (h->phase == PHASE_BODY)
			forward(h, in + pos, n, out, out_len);
		pos += n;
		if (err == HPE_PAUSED)
			http_parser_pause(&h->parser, 0);
		if (h->pause == PAUSE_HEAD_DONE) {
			/* The parser stops on the head's last LF and reads it again
			 * when resumed: it belongs to the head, never forward it. */
			h->phase = PHASE_BODY;
			h->skip = 1;
		} else if (h->pause == PAUSE_MESSAGE_DONE) {
			h->phase = PHASE_HEAD;
			h->skip = 0;
		}
	}
	flush_head(h, out, out_len, out_cap);
	*consumed = pos;
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 421: return "Misdirected Request";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 504: return "Gateway Timeout";
	default: return "Internal Server Error";
	}
}

size_t ts_http_local_response(int status, char *buf, size_t cap)
{
	const char *r = reason(status);
	int n = snprintf(buf, cap,
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n%s\n",
			 status, r, strlen(r) + 1, r);

	return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}
