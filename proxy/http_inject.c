// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * HTTP/1.x request rewriting on top of llhttp, built with
 * LLHTTP_STRICT_MODE and no lenient flags. A request head is collected
 * whole (its bytes checked: CRLF line ends only, no control bytes, no
 * obs-fold), parsed in one call, judged and rebuilt; its body is then fed to
 * the parser, and only what the parser decoded goes upstream, in framing the
 * proxy writes: Content-Length bodies as they are, chunked bodies re-chunked
 * (extensions and trailers dropped). The parser pauses at the end of each
 * message, so the next head is again collected whole.
 */
#include "http_inject.h"
#include "http_rules.h"

#include <errno.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Output a body call may produce beyond the input it consumes: a chunk-size
 * line whose digits came in an earlier call (16 hex digits + CRLF), the CRLF
 * after chunk data, and the last chunk with the empty trailer section. */
#define BODY_SLACK 32
/* An SNI (RFC 6066: a DNS name, 255 bytes at most) and its NUL. */
#define SNI_MAX 256
/* Room for the Host line and the framing field in a rebuilt head. */
#define HEAD_EXTRA (SNI_MAX + 64)
#define STATUS_INTERNAL 500

enum phase {
	PHASE_HEAD, /* bytes are collected into raw[] */
	PHASE_BODY, /* bytes go to the parser, its decoded body upstream */
};

struct field {
	unsigned name_off, name_len, value_off, value_len;
};

struct ts_http_inject {
	llhttp_t parser;
	llhttp_settings_t settings;
	enum phase phase;
	int status;       /* local answer decided in a callback */
	int in_head;      /* field callbacks come from a head, not trailers */
	int head_done;    /* the parser reached the end of the head */
	int message_done; /* the parser reached the end of the message */
	int chunked;      /* the body is re-chunked */
	int last_chunk;   /* the zero-size chunk was seen */
	char raw[TS_HTTP_HEAD_MAX]; /* the head being collected */
	unsigned raw_len;
	unsigned url_off, url_len;
	struct field fields[TS_HTTP_FIELDS_MAX];
	unsigned nfields;
	int in_value; /* the last field callback was a value */
	char *out;    /* the body output of the current call */
	size_t *out_len, out_cap;
	char *extra; /* injected metadata and forwarding lines */
	size_t extra_len;
	const char *const *strip;
	ts_http_host_check check;
	void *ctx;
	char sni[SNI_MAX];
	unsigned long requests;
	char *head_out; /* the rebuilt head, waiting for room */
	size_t head_len;
};

static struct ts_http_inject *of(llhttp_t *p)
{
	return p->data;
}

/* RFC 9110, 5.6.2: tchar. */
static int is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_token(const char *s, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A field the proxy removes from every request: identity or forwarding. */
static int is_stripped(const struct ts_http_inject *h, const char *name, size_t len)
{
	return ts_http_name_in(h->strip, name, len) || ts_http_forwarding_name(name, len);
}

/* ---- parser callbacks ---- */

/* Appends a piece of the URL or of a field to a span of raw[]; the head is
 * parsed in one call, so pieces are contiguous. */
static int span_add(struct ts_http_inject *h, unsigned *off, unsigned *len, const char *at,
		    size_t n)
{
	unsigned pos = (unsigned)(at - h->raw);

	if (*len == 0)
		*off = pos;
	else if (*off + *len != pos) {
		h->status = 400;
		return -1;
	}
	*len += (unsigned)n;
	return 0;
}

static int on_message_begin(llhttp_t *p)
{
	struct ts_http_inject *h = of(p);

	h->url_off = h->url_len = 0;
	h->nfields = 0;
	h->in_value = 0;
	h->head_done = h->message_done = 0;
	h->chunked = h->last_chunk = 0;
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	struct ts_http_inject *h = of(p);

	return span_add(h, &h->url_off, &h->url_len, at, len);
}

static int on_field(llhttp_t *p, const char *at, size_t len)
{
	struct ts_http_inject *h = of(p);

	if (!h->in_head)
		return 0; /* a trailer field: dropped */
	if (h->nfields == 0 || h->in_value) {
		if (h->nfields == TS_HTTP_FIELDS_MAX) {
			h->status = 431;
			return -1;
		}
		h->fields[h->nfields++] = (struct field){ 0 };
		h->in_value = 0;
	}
	struct field *f = &h->fields[h->nfields - 1];
	return span_add(h, &f->name_off, &f->name_len, at, len);
}

static int on_value(llhttp_t *p, const char *at, size_t len)
{
	struct ts_http_inject *h = of(p);

	if (!h->in_head)
		return 0;
	struct field *f = &h->fields[h->nfields - 1];
	h->in_value = 1;
	return span_add(h, &f->value_off, &f->value_len, at, len);
}

static int on_headers_complete(llhttp_t *p)
{
	struct ts_http_inject *h = of(p);

	/* A tunnel would carry later requests past the rewriting. */
	if (llhttp_get_upgrade(p) || llhttp_get_method(p) == HTTP_CONNECT) {
		h->status = 501;
		return -1;
	}
	h->head_done = 1;
	h->chunked = (p->flags & F_CHUNKED) != 0;
	return 0;
}

static int emit(struct ts_http_inject *h, const char *s, size_t n)
{
	if (!h->out || h->out_cap - *h->out_len < n) {
		h->status = STATUS_INTERNAL; /* BODY_SLACK is wrong: never forward a part */
		return -1;
	}
	memcpy(h->out + *h->out_len, s, n);
	*h->out_len += n;
	return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	return emit(of(p), at, len);
}

static int on_chunk_header(llhttp_t *p)
{
	struct ts_http_inject *h = of(p);
	char line[24];
	int n;

	if (p->content_length == 0) {
		h->last_chunk = 1; /* written with the end of the message */
		return 0;
	}
	n = snprintf(line, sizeof(line), "%llx\r\n", (unsigned long long)p->content_length);
	return emit(h, line, (size_t)n);
}

static int on_chunk_complete(llhttp_t *p)
{
	struct ts_http_inject *h = of(p);

	return h->last_chunk ? 0 : emit(h, "\r\n", 2);
}

static int on_message_complete(llhttp_t *p)
{
	struct ts_http_inject *h = of(p);

	if (h->chunked && emit(h, "0\r\n\r\n", 5))
		return -1;
	h->message_done = 1;
	return HPE_PAUSED;
}

/* ---- the head ---- */

static const struct field *find_field(const struct ts_http_inject *h, const char *name,
				      unsigned *count)
{
	const struct field *found = NULL;

	*count = 0;
	for (unsigned i = 0; i < h->nfields; i++)
		if (ts_http_name_eq(h->raw + h->fields[i].name_off, h->fields[i].name_len, name)) {
			found = found ? found : &h->fields[i];
			(*count)++;
		}
	return found;
}

/* Value without surrounding whitespace (the parser drops the leading). */
static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

struct target {
	const char *authority; /* NULL for origin-form */
	size_t authority_len;
	const char *path; /* origin-form: path and query */
	size_t path_len;
};

/* RFC 9112, 3.2: origin-form, or absolute-form with an http(s) scheme,
 * which is taken apart to be sent in origin-form. Returns 0 or 400. */
static int parse_target(const char *u, size_t len, struct target *t)
{
	size_t i, scheme;

	*t = (struct target){ .path = u, .path_len = len };
	if (memchr(u, '#', len))
		return 400; /* a fragment is no part of a request target */
	if (len && u[0] == '/')
		return 0;
	if (len > 7 && !strncasecmp(u, "http://", 7))
		scheme = 7;
	else if (len > 8 && !strncasecmp(u, "https://", 8))
		scheme = 8;
	else
		return 400; /* asterisk-form, authority-form or no target */
	for (i = scheme; i < len && u[i] != '/' && u[i] != '?'; i++)
		;
	t->authority = u + scheme;
	t->authority_len = i - scheme;
	t->path = u + i;
	t->path_len = len - i;
	return 0;
}

/* RFC 9112, 6.1: chunked must be the final coding; other codings are not
 * decoded here (501). Returns 0, 400 or 501. */
static int check_transfer_coding(struct ts_http_inject *h)
{
	unsigned count;
	const struct field *f = find_field(h, "transfer-encoding", &count);
	const char *v;
	size_t len;

	if (!f)
		return 0;
	if (count > 1 || llhttp_get_http_minor(&h->parser) == 0)
		return 400;
	v = h->raw + f->value_off;
	len = f->value_len;
	trim(&v, &len);
	if (len == 7 && !strncasecmp(v, "chunked", 7))
		return 0;
	if (len > 7 && !strncasecmp(v + len - 7, "chunked", 7) &&
	    (v[len - 8] == ',' || v[len - 8] == ' ' || v[len - 8] == '\t'))
		return 501;
	return 400;
}

struct head_view {
	struct target target;
	const char *authority; /* what goes into Host */
	size_t authority_len;
};

/* Judges the authority: the Host field, equal to an absolute-form target's
 * authority when there is one, else the target's (HTTP/1.0 only), else the
 * SNI (HTTP/1.0 only). Returns 0 or the status. */
static int check_authority(struct ts_http_inject *h, struct head_view *v)
{
	unsigned hosts;
	const struct field *f = find_field(h, "host", &hosts);
	const char *host = NULL;
	size_t len = 0, host_len;
	int rc;

	if (hosts > 1)
		return 400;
	rc = parse_target(h->raw + h->url_off, h->url_len, &v->target);
	if (rc)
		return rc;
	if (f) {
		host = h->raw + f->value_off;
		len = f->value_len;
		trim(&host, &len);
	} else if (llhttp_get_http_minor(&h->parser) >= 1) {
		return 400; /* RFC 9112, 3.2 */
	}
	if (v->target.authority) {
		if (host && (len != v->target.authority_len ||
			     strncasecmp(host, v->target.authority, len)))
			return 400;
		host = v->target.authority;
		len = v->target.authority_len;
	}
	if (!host && h->sni[0]) {
		host = h->sni;
		len = strlen(h->sni);
	}
	if (!host)
		return 400;
	rc = ts_http_parse_authority(host, len, &host_len);
	if (rc)
		return rc;
	v->authority = host;
	v->authority_len = len;
	return h->check ? h->check(h->ctx, host, host_len) : 0;
}

/* Appends with a bound; build_head() sizes the buffer so it never cuts. */
struct sbuf {
	char *p;
	size_t len, cap;
	int cut; /* something did not fit: the head must not go */
};

static void put(struct sbuf *b, const char *s, size_t n)
{
	if (n > b->cap - b->len) {
		n = b->cap - b->len;
		b->cut = 1;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void puts_(struct sbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Connection options minus the names of fields the proxy removes or sets
 * itself: a hop-by-hop hop after the proxy must not drop its fields. */
static void put_connection(struct ts_http_inject *h, struct sbuf *b)
{
	size_t start = b->len;
	int any = 0;

	for (unsigned i = 0; i < h->nfields; i++) {
		const struct field *f = &h->fields[i];
		const char *v = h->raw + f->value_off, *end = v + f->value_len;

		if (!ts_http_name_eq(h->raw + f->name_off, f->name_len, "connection"))
			continue;
		while (v < end) {
			const char *comma = memchr(v, ',', (size_t)(end - v));
			const char *tok = v;
			size_t n = (size_t)((comma ? comma : end) - v);

			v = comma ? comma + 1 : end;
			trim(&tok, &n);
			if (!is_token(tok, n) || is_stripped(h, tok, n) ||
			    ts_http_name_eq(tok, n, "host") || ts_http_name_eq(tok, n, "content-length") ||
			    ts_http_name_eq(tok, n, "transfer-encoding"))
				continue;
			puts_(b, any ? ", " : "Connection: ");
			put(b, tok, n);
			any = 1;
		}
	}
	if (any)
		puts_(b, "\r\n");
	else
		b->len = start;
}

static int keep_field(const struct ts_http_inject *h, const struct field *f)
{
	const char *n = h->raw + f->name_off;
	size_t len = f->name_len;

	return !is_stripped(h, n, len) && !ts_http_name_eq(n, len, "host") &&
	       !ts_http_name_eq(n, len, "content-length") && !ts_http_name_eq(n, len, "transfer-encoding") &&
	       !ts_http_name_eq(n, len, "connection");
}

static int build_head(struct ts_http_inject *h, const struct head_view *v)
{
	size_t cap = h->raw_len + h->nfields + h->extra_len + HEAD_EXTRA;
	struct sbuf b = { malloc(cap), 0, cap, 0 };
	/* "Content-Length: " and 20 digits (UINT64_MAX) and CRLF, with room */
	char num[64];
	int nl;

	if (!b.p)
		return -1;
	puts_(&b, llhttp_method_name((llhttp_method_t)llhttp_get_method(&h->parser)));
	puts_(&b, " ");
	if (!v->target.path_len || v->target.path[0] != '/')
		puts_(&b, "/");
	put(&b, v->target.path, v->target.path_len);
	nl = snprintf(num, sizeof(num), " HTTP/1.%u\r\nHost: ", llhttp_get_http_minor(&h->parser));
	put(&b, num, (size_t)nl);
	put(&b, v->authority, v->authority_len);
	puts_(&b, "\r\n");
	for (unsigned i = 0; i < h->nfields; i++) {
		const struct field *f = &h->fields[i];
		const char *val = h->raw + f->value_off;
		size_t len = f->value_len;

		if (!keep_field(h, f))
			continue;
		trim(&val, &len);
		put(&b, h->raw + f->name_off, f->name_len);
		puts_(&b, ": ");
		put(&b, val, len);
		puts_(&b, "\r\n");
	}
	put_connection(h, &b);
	if (h->chunked) {
		puts_(&b, "Transfer-Encoding: chunked\r\n");
	} else if (h->parser.flags & F_CONTENT_LENGTH) {
		nl = snprintf(num, sizeof(num), "Content-Length: %llu\r\n",
			      (unsigned long long)h->parser.content_length);
		put(&b, num, (size_t)nl);
	}
	put(&b, h->extra, h->extra_len);
	puts_(&b, "\r\n");
	if (b.cut) {
		free(b.p);
		return -1;
	}
	h->head_out = b.p;
	h->head_len = b.len;
	return 0;
}

/* Judges the parsed head and rebuilds it. Returns 0 or the status. */
static int judge_head(struct ts_http_inject *h)
{
	struct head_view v;
	int rc;

	if (llhttp_get_http_major(&h->parser) != 1 || llhttp_get_http_minor(&h->parser) > 1)
		return 400; /* HTTP/0.9 (llhttp refuses the others) */
	for (unsigned i = 0; i < h->nfields; i++)
		if (!is_token(h->raw + h->fields[i].name_off, h->fields[i].name_len))
			return 400;
	rc = check_transfer_coding(h);
	if (!rc)
		rc = check_authority(h, &v);
	if (rc)
		return rc;
	return build_head(h, &v) ? STATUS_INTERNAL : 0;
}

/*
 * Collects head bytes. Every line ends in CRLF; no control byte but HT;
 * no line starts with whitespace (obs-fold, or space before the first
 * field). Returns 1 when the head is complete (through its empty line), 0
 * when it needs more input, or the status. *used: input bytes taken.
 */
static int collect_head(struct ts_http_inject *h, const char *in, size_t len, size_t *used)
{
	for (*used = 0; *used < len;) {
		unsigned char c = (unsigned char)in[(*used)++];
		unsigned char prev = h->raw_len ? (unsigned char)h->raw[h->raw_len - 1] : '\n';

		if (h->raw_len == sizeof(h->raw))
			return 431;
		h->raw[h->raw_len++] = (char)c;
		if (prev == '\r' && c != '\n')
			return 400; /* bare CR */
		if (c == '\n' && prev != '\r')
			return 400; /* bare LF */
		if (h->raw_len == 1 && c == '\r')
			return 400; /* an empty line before the request line */
		if (prev == '\n' && (c == ' ' || c == '\t'))
			return 400; /* obs-fold (RFC 9112, 5.2) */
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			return 400; /* NUL and other controls */
		if (h->raw_len >= 4 && !memcmp(h->raw + h->raw_len - 4, "\r\n\r\n", 4))
			return 1;
	}
	return 0;
}

/* Parses the whole head in one call. Returns 0 or the status. */
static int parse_head(struct ts_http_inject *h)
{
	llhttp_errno_t err;
	int rc;

	h->in_head = 1;
	h->out = NULL; /* a head produces no body output */
	err = llhttp_execute(&h->parser, h->raw, h->raw_len);
	h->in_head = 0;
	if (err == HPE_PAUSED) {
		llhttp_resume(&h->parser);
		if (llhttp_get_error_pos(&h->parser) != h->raw + h->raw_len)
			return 400;
	} else if (err != HPE_OK) {
		return h->status ? h->status : 400;
	}
	if (!h->head_done)
		return 400;
	rc = judge_head(h);
	if (rc)
		return rc;
	h->phase = h->message_done ? PHASE_HEAD : PHASE_BODY;
	h->raw_len = 0;
	return 0;
}

/* Feeds body bytes. Returns 0 or the status; *used: input bytes taken. */
static int feed_body(struct ts_http_inject *h, const char *in, size_t len, char *out,
		     size_t *out_len, size_t out_cap, size_t *used)
{
	llhttp_errno_t err;

	h->out = out;
	h->out_len = out_len;
	h->out_cap = out_cap;
	err = llhttp_execute(&h->parser, in, len);
	h->out = NULL;
	if (err == HPE_OK) {
		*used = len;
		return 0;
	}
	if (err == HPE_PAUSED) {
		*used = (size_t)(llhttp_get_error_pos(&h->parser) - in);
		llhttp_resume(&h->parser);
		h->phase = PHASE_HEAD;
		return 0;
	}
	*used = 0;
	return h->status ? h->status : 400;
}

/* ---- the interface ---- */

static int set_extra(struct ts_http_inject *h, const struct ts_http_opts *o)
{
	const char *a = o->client_addr;
	size_t cap = o->inject_len + (a ? TS_HTTP_FORWARDING_MAX(strlen(a)) : 0) + 1;
	ssize_t n = 0;

	h->extra = malloc(cap);
	if (!h->extra)
		return -ENOMEM;
	memcpy(h->extra, o->inject, o->inject_len);
	if (a)
		n = ts_http_forwarding_lines(a, h->extra + o->inject_len, cap - o->inject_len);
	if (n < 0)
		return -EINVAL;
	h->extra_len = o->inject_len + (size_t)n;
	return 0;
}

struct ts_http_inject *ts_http_inject_new(const struct ts_http_opts *o)
{
	struct ts_http_inject *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (set_extra(h, o) || (o->sni && strlen(o->sni) >= sizeof(h->sni))) {
		ts_http_inject_free(h);
		return NULL;
	}
	if (o->sni)
		strcpy(h->sni, o->sni);
	h->strip = o->strip;
	h->check = o->check;
	h->ctx = o->ctx;
	llhttp_settings_init(&h->settings);
	h->settings.on_message_begin = on_message_begin;
	h->settings.on_url = on_url;
	h->settings.on_header_field = on_field;
	h->settings.on_header_value = on_value;
	h->settings.on_headers_complete = on_headers_complete;
	h->settings.on_body = on_body;
	h->settings.on_chunk_header = on_chunk_header;
	h->settings.on_chunk_complete = on_chunk_complete;
	h->settings.on_message_complete = on_message_complete;
	llhttp_init(&h->parser, HTTP_REQUEST, &h->settings);
	h->parser.data = h;
	return h;
}

void ts_http_inject_free(struct ts_http_inject *h)
{
	if (!h)
		return;
	free(h->head_out);
	free(h->extra);
	free(h);
}

size_t ts_http_inject_reserve(const struct ts_http_inject *h)
{
	return TS_HTTP_HEAD_MAX + TS_HTTP_FIELDS_MAX + h->extra_len + HEAD_EXTRA + BODY_SLACK;
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

int ts_http_inject_feed(struct ts_http_inject *h, const char *in, size_t in_len, char *out,
			size_t *out_len, size_t out_cap, size_t *consumed)
{
	size_t pos = 0, used;
	int rc = 0;

	while (pos < in_len && !rc) {
		if (flush_head(h, out, out_len, out_cap))
			break;
		if (h->phase == PHASE_HEAD) {
			rc = collect_head(h, in + pos, in_len - pos, &used);
			pos += used;
			rc = rc == 1 ? parse_head(h) : rc;
			continue;
		}
		size_t room = out_cap - *out_len;
		if (room <= BODY_SLACK)
			break;
		size_t avail = in_len - pos < room - BODY_SLACK ? in_len - pos : room - BODY_SLACK;
		rc = feed_body(h, in + pos, avail, out, out_len, out_cap, &used);
		pos += used;
	}
	if (!rc)
		flush_head(h, out, out_len, out_cap);
	*consumed = pos;
	return rc;
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
