// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * HTTP/2 termination with nghttp2 (framing, HPACK, flow control, the
 * protocol's own validation); each stream is forwarded as one HTTP/1.1
 * exchange on an upstream connection of its own while it lasts, taken from
 * a small keep-alive pool of the client connection or opened. The upstream
 * request is framed here: request line, Host from the judged authority,
 * the client's fields minus identity, forwarding and framing fields,
 * Content-Length or the proxy's own chunking, then the connection's
 * identity and forwarding lines. Request bodies are flow controlled: a
 * stream's window is given back only once its bytes were written upstream,
 * so a slow upstream stops the client.
 */
#include "h2_conn.h"

#include <errno.h>
#include <llhttp.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_inject.h"
#include "http_rules.h"
#include "proxy_mode.h"

/* Client bytes read per recv. */
#define H2_READ_BUF 16384
/* Frames nghttp2 produced but the client has not taken; beyond it the
 * client is not read (a peer that does not read cannot make us queue). */
#define H2_OUT_MAX 65536
#define H2_STATUS_INTERNAL 500

enum stream_state {
	ST_HEAD,       /* request fields arriving */
	ST_READY,      /* framed; connects after the current read is processed */
	ST_CONNECTING, /* upstream connect in progress */
	ST_FORWARDING, /* request going up, response coming down */
	ST_LOCAL,      /* answered by the proxy */
	ST_DONE,       /* response complete (or failed) */
};

struct field_ref {
	unsigned no, nl, vo, vl;
};

struct px_h2;

struct h2_stream {
	struct px_h2 *h2;
	struct h2_stream *prev, *next; /* the connection's open streams */
	struct h2_stream *dead_next;
	struct ev_io ep; /* the upstream connection */
	int32_t id;
	enum stream_state state;
	bool closed;
	/* request */
	int status;        /* a local answer decided while parsing */
	size_t hlist;      /* header list size so far (RFC 9113, 6.5.2) */
	char *method, *path, *authority, *host, *scheme, *cl;
	char *fields;      /* "Name: value\r\n" lines kept */
	size_t fields_len;
	char *cookie;      /* crumbs joined with "; " (RFC 9113, 8.2.3) */
	size_t cookie_len;
	bool te_trailers;
	bool reused;       /* the upstream connection came from the pool */
	bool replied;      /* the upstream sent response bytes */
	bool chunked;      /* the body is chunked by the proxy */
	bool req_end;      /* END_STREAM seen and the body's end framed */
	char *up;          /* bytes for the upstream */
	size_t up_off, up_len, up_cap;
	size_t unconsumed; /* DATA bytes not given back to the window */
	/* response */
	llhttp_t parser;
	int rstatus;
	bool head_method;
	bool submitted;   /* the response head went to nghttp2 */
	bool resp_done;   /* the message is complete */
	bool deferred;    /* the data source said DEFERRED */
	bool in_value;
	char *rh;         /* response field bytes (head, then trailers) */
	size_t rh_len;
	struct field_ref rf[TS_HTTP_FIELDS_MAX];
	unsigned nrf;
	nghttp2_nv *trailers;
	size_t ntrailers;
	char *body;
	size_t body_off, body_len;
};

struct px_h2 {
	struct px_conn *c;
	nghttp2_session *s;
	struct h2_stream *streams;
	char *extra; /* identity and forwarding lines */
	size_t extra_len;
	char *out;   /* frames for the client */
	size_t out_off, out_len;
	/* idle keep-alive upstream connections, newest last */
	int pool_fd[PX_H2_POOL_MAX];
	uint64_t pool_ms[PX_H2_POOL_MAX];
	int npool;
	bool flush_queued; /* on the worker's h2_flush list */
	bool ready_counted; /* upstream_ready counted (its first connection) */
	bool draining;     /* GOAWAY sent: close once the open streams end */
	bool failed; /* a session error: send what is queued, then close */
	bool client_eof;
	unsigned long requests;
};

static llhttp_settings_t resp_settings;

bool px_h2_alpn(const struct ts_handoff *h)
{
	return h->meta.alpn.len == 2 && !memcmp(h->meta.alpn.p, "h2", 2);
}

/* ---- small buffers ---- */

static int append(char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		size_t ncap = *cap ? *cap : 1024;
		while (ncap < *len + n)
			ncap *= 2;
		char *nb = realloc(*buf, ncap);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	return 0;
}

/* Appends to a NUL-terminated string that grows exactly. */
static int append_str(char **buf, size_t *len, const char *s, size_t n)
{
	char *nb = realloc(*buf, *len + n + 1);

	if (!nb)
		return -ENOMEM;
	memcpy(nb + *len, s, n);
	*len += n;
	nb[*len] = '\0';
	*buf = nb;
	return 0;
}

static char *dup_n(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* ---- streams ---- */

static struct h2_stream *stream_of(struct px_h2 *h, int32_t id)
{
	return nghttp2_session_get_stream_user_data(h->s, id);
}

static void up_interest(struct h2_stream *s)
{
	uint32_t ev = 0;

	if (s->closed || s->ep.fd < 0)
		return;
	if (s->state == ST_CONNECTING || (s->state == ST_FORWARDING && s->up_len > s->up_off))
		ev |= EPOLLOUT;
	if (s->state == ST_FORWARDING && !s->resp_done && s->body_len < PX_H2_BODY_BUF)
		ev |= EPOLLIN;
	px_ep_update(s->h2->c->w, &s->ep, ev);
}

static void drop_upstream(struct h2_stream *s)
{
	if (s->ep.fd < 0)
		return;
	px_ep_update(s->h2->c->w, &s->ep, 0);
	close(s->ep.fd);
	s->ep.fd = -1;
}

static void stream_free(struct h2_stream *s)
{
	free(s->method);
	free(s->path);
	free(s->authority);
	free(s->host);
	free(s->scheme);
	free(s->cl);
	free(s->fields);
	free(s->cookie);
	free(s->up);
	free(s->rh);
	free(s->trailers);
	free(s->body);
	free(s);
}

/* Unlinks a stream and queues it for freeing after the epoll batch. */
static void stream_close(struct h2_stream *s)
{
	struct px_h2 *h = s->h2;
	struct px_worker *w = h->c->w;

	if (s->closed)
		return;
	s->closed = true;
	drop_upstream(s);
	if (s->unconsumed) /* the connection window, for bytes never written */
		nghttp2_session_consume_connection(h->s, s->unconsumed);
	if (s->prev)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->dead_next = w->h2_dead;
	w->h2_dead = s;
}

void px_h2_reap(struct px_worker *w)
{
	while (w->h2_dead) {
		struct h2_stream *s = w->h2_dead;
		w->h2_dead = s->dead_next;
		stream_free(s);
	}
}

/* ---- responses to the client ---- */

static ssize_t body_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
			 uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct h2_stream *s = src->ptr;
	size_t n = s->body_len - s->body_off;

	(void)user;
	if (n > length)
		n = length;
	memcpy(buf, s->body + s->body_off, n);
	s->body_off += n;
	if (s->body_off == s->body_len)
		s->body_off = s->body_len = 0;
	if (s->body_len == 0 && s->resp_done) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (s->ntrailers) {
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			if (nghttp2_submit_trailer(session, id, s->trailers, s->ntrailers))
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		}
		return (ssize_t)n;
	}
	if (n == 0) {
		s->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	up_interest(s); /* room again: read the upstream */
	return (ssize_t)n;
}

static void resume(struct h2_stream *s)
{
	if (s->deferred && s->submitted) {
		s->deferred = false;
		nghttp2_session_resume_data(s->h2->s, s->id);
	}
}

static int submit(struct h2_stream *s, const nghttp2_nv *nv, size_t n)
{
	nghttp2_data_provider prd = { .source.ptr = s, .read_callback = body_read };

	s->submitted = true;
	return nghttp2_submit_response(s->h2->s, s->id, nv, n,
				       s->head_method ? NULL : &prd);
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }

/* The proxy answers this stream itself (400, 421, 431, 501, 502). */
static void local_answer(struct h2_stream *s, int status)
{
	char code[8], *body;
	char resp[256];
	size_t n = ts_http_local_response(status, resp, sizeof(resp));
	const char *sep = memmem(resp, n, "\r\n\r\n", 4);

	drop_upstream(s);
	s->state = ST_LOCAL;
	s->status = status;
	px_count(&s->h2->c->w->stats, PX_HTTP_LOCAL, 1);
	if (s->submitted) { /* the response had started: only a reset is left */
		nghttp2_submit_rst_stream(s->h2->s, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	snprintf(code, sizeof(code), "%d", status);
	/* the body of the HTTP/1 answer: its reason phrase */
	body = malloc(n);
	if (!body || !sep) {
		free(body);
		nghttp2_submit_rst_stream(s->h2->s, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	free(s->body);
	s->body = body;
	s->body_off = 0;
	s->body_len = n - (size_t)(sep + 4 - resp);
	memcpy(body, sep + 4, s->body_len);
	s->resp_done = true;
	s->ntrailers = 0;
	nghttp2_nv nv[] = { NV(":status", code), NV("content-type", "text/plain") };
	s->head_method = false;
	submit(s, nv, 2);
}

/* ---- the upstream request ---- */

/* RFC 9110, 5.6.2: token. */
static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      strchr("!#$%&'*+-.^_`|~", c)))
			return false;
	}
	return true;
}

/* An origin-form path: '/' then visible ASCII, no fragment. */
static bool is_origin_path(const char *p)
{
	if (p[0] != '/')
		return false;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '#')
			return false;
	return true;
}

static bool is_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Fields a request carries that the proxy removes: identity, forwarding,
 * the framing and connection fields it states itself. nghttp2 already
 * refused the connection-specific fields of RFC 9113, 8.2.2. */
static bool strip_field(const struct px_h2 *h, const char *name, size_t len)
{
	static const char *const own[] = {
		"host", "content-length", "connection", "transfer-encoding", "te", "upgrade",
		"keep-alive", "proxy-connection", "http2-settings", "cookie", NULL,
	};

	return ts_http_name_in((const char *const *)h->c->gen->strip, name, len) ||
	       ts_http_forwarding_name(name, len) || ts_http_name_in(own, name, len);
}

/* Judges the authority (:authority, else Host) as HTTP/1 judges Host.
 * Returns 0 or the status. */
static int judge_authority(struct h2_stream *s, const char **auth)
{
	const char *a = s->authority ? s->authority : s->host;
	size_t host_len;
	int rc;

	if (!a)
		return 400;
	if (s->authority && s->host && strcasecmp(s->authority, s->host))
		return 400; /* RFC 9113, 8.3.1: they must name the same origin */
	rc = ts_http_parse_authority(a, strlen(a), &host_len);
	if (rc)
		return rc;
	*auth = a;
	return px_mode_host_check(s->h2->c, a, host_len);
}

/* Checks the request head and frames it for the upstream. Returns 0 or the
 * status to answer with. */
static int frame_request(struct h2_stream *s, bool end_stream)
{
	struct px_h2 *h = s->h2;
	const char *auth = NULL;
	char num[64];
	int rc;

	if (s->status)
		return s->status;
	if (!s->method || !is_token(s->method))
		return 400;
	if (!strcmp(s->method, "CONNECT"))
		return 501; /* a tunnel would carry bytes past the rewriting */
	if (!s->scheme || strcmp(s->scheme, "https") || !s->path || !is_origin_path(s->path))
		return 400;
	if (s->cl && !is_digits(s->cl))
		return 400;
	rc = judge_authority(s, &auth);
	if (rc)
		return rc;
	s->head_method = !strcmp(s->method, "HEAD");
	s->chunked = !end_stream && !s->cl;
#define PUT(p, n)                                                  \
	do {                                                       \
		if (append(&s->up, &s->up_len, &s->up_cap, (p), (n))) \
			return H2_STATUS_INTERNAL;                 \
	} while (0)
#define PUTS(str) PUT((str), strlen(str))
	PUTS(s->method);
	PUTS(" ");
	PUTS(s->path);
	PUTS(" HTTP/1.1\r\nHost: ");
	PUTS(auth);
	PUTS("\r\n");
	if (s->fields_len)
		PUT(s->fields, s->fields_len);
	if (s->cookie_len) {
		PUTS("Cookie: ");
		PUT(s->cookie, s->cookie_len);
		PUTS("\r\n");
	}
	/* HTTP/1.1 keeps the connection by default; TE is hop-by-hop */
	if (s->te_trailers)
		PUTS("TE: trailers\r\nConnection: TE\r\n");
	if (s->chunked) {
		PUTS("Transfer-Encoding: chunked\r\n");
	} else if (s->cl) {
		snprintf(num, sizeof(num), "Content-Length: %s\r\n", s->cl);
		PUTS(num);
	}
	PUT(h->extra, h->extra_len);
	PUTS("\r\n");
	if (end_stream && s->chunked)
		PUTS("0\r\n\r\n");
#undef PUT
#undef PUTS
	s->req_end = end_stream;
	return 0;
}

/* An idle pooled connection, still open and fresh enough, or -1. */
static int pool_take(struct px_h2 *h)
{
	uint64_t now = px_now_ms();

	while (h->npool > 0) {
		int fd = h->pool_fd[--h->npool];
		char b;
		/* EAGAIN: open with nothing to read; 0 or bytes: the upstream
		 * closed or spoke out of turn */
		if (now - h->pool_ms[h->npool] <= PX_H2_POOL_IDLE_MS &&
		    recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN)
			return fd;
		close(fd);
	}
	return -1;
}

/* Parks a stream's upstream connection after a complete exchange. */
static void pool_put(struct h2_stream *s)
{
	struct px_h2 *h = s->h2;

	if (h->npool == PX_H2_POOL_MAX) {
		drop_upstream(s);
		return;
	}
	px_ep_update(h->c->w, &s->ep, 0);
	h->pool_fd[h->npool] = s->ep.fd;
	h->pool_ms[h->npool++] = px_now_ms();
	s->ep.fd = -1;
}

static void pool_free(struct px_h2 *h)
{
	while (h->npool > 0)
		close(h->pool_fd[--h->npool]);
}

static void stream_ready(struct h2_stream *s);

static void connect_with(struct h2_stream *s, int fd)
{
	if (fd < 0) {
		local_answer(s, 502);
		return;
	}
	s->ep = (struct ev_io){ .kind = PX_EP_UPSTREAM, .fd = fd, .obj = s->h2->c };
	s->state = ST_CONNECTING;
	if (s->reused)
		stream_ready(s);
	up_interest(s);
}

static void fresh_connect(struct h2_stream *s)
{
	struct px_conn *c = s->h2->c;

	s->reused = false;
	connect_with(s, px_upstream_connect(&c->gen->ups[c->route - c->gen->cfg->routes]));
}

static void stream_connect(struct h2_stream *s)
{
	int fd = pool_take(s->h2);

	s->h2->requests++;
	if (fd < 0) {
		fresh_connect(s);
		return;
	}
	s->reused = true;
	connect_with(s, fd);
}

/* The upstream is connected only once the whole read was processed: a
 * stream the same read resets (rapid reset, CVE-2023-44487) costs no
 * upstream connection. */
static void request_head(struct h2_stream *s, bool end_stream)
{
	int rc = frame_request(s, end_stream);

	if (rc) {
		local_answer(s, rc);
		return;
	}
	s->state = ST_READY;
}

static void connect_ready(struct px_h2 *h)
{
	for (struct h2_stream *s = h->streams; s; s = s->next)
		if (s->state == ST_READY)
			stream_connect(s);
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *f, void *user)
{
	struct px_h2 *h = user;
	struct h2_stream *s;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	s->h2 = h;
	s->id = f->hd.stream_id;
	s->ep.fd = -1;
	s->next = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	nghttp2_session_set_stream_user_data(session, s->id, s);
	return 0;
}

static int set_once(char **dst, const uint8_t *v, size_t len)
{
	if (*dst)
		return 400; /* nghttp2 refuses repeated pseudo-fields; Host twice */
	*dst = dup_n(v, len);
	return *dst ? 0 : H2_STATUS_INTERNAL;
}

static int take_field(struct h2_stream *s, const uint8_t *name, size_t nl, const uint8_t *v,
		      size_t vl)
{
	const char *n = (const char *)name;

	if (nl && n[0] == ':') {
		if (nl == 7 && !memcmp(n, ":method", 7))
			return set_once(&s->method, v, vl);
		if (nl == 5 && !memcmp(n, ":path", 5))
			return set_once(&s->path, v, vl);
		if (nl == 10 && !memcmp(n, ":authority", 10))
			return set_once(&s->authority, v, vl);
		if (nl == 7 && !memcmp(n, ":scheme", 7))
			return set_once(&s->scheme, v, vl);
		return 400; /* :protocol (extended CONNECT) and the like */
	}
	if (ts_http_name_eq(n, nl, "host"))
		return set_once(&s->host, v, vl);
	if (ts_http_name_eq(n, nl, "content-length"))
		return set_once(&s->cl, v, vl);
	if (ts_http_name_eq(n, nl, "te")) {
		s->te_trailers = true; /* nghttp2 lets only "trailers" through */
		return 0;
	}
	if (ts_http_name_eq(n, nl, "cookie")) {
		if ((s->cookie_len && append_str(&s->cookie, &s->cookie_len, "; ", 2)) ||
		    append_str(&s->cookie, &s->cookie_len, (const char *)v, vl))
			return H2_STATUS_INTERNAL;
		return 0;
	}
	if (strip_field(s->h2, n, nl))
		return 0;
	if (append_str(&s->fields, &s->fields_len, n, nl) ||
	    append_str(&s->fields, &s->fields_len, ": ", 2) ||
	    append_str(&s->fields, &s->fields_len, (const char *)v, vl) ||
	    append_str(&s->fields, &s->fields_len, "\r\n", 2))
		return H2_STATUS_INTERNAL;
	return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *f, const uint8_t *name,
		     size_t nl, const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
	struct h2_stream *s = stream_of(user, f->hd.stream_id);

	(void)session;
	(void)flags;
	if (!s || s->state != ST_HEAD || f->hd.type != NGHTTP2_HEADERS ||
	    f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* request trailers: dropped, as in HTTP/1 */
	s->hlist += nl + vl + 32;
	if (s->hlist > PX_H2_HEADER_LIST_MAX)
		s->status = 431;
	if (!s->status)
		s->status = take_field(s, name, nl, value, vl);
	return 0;
}

/* Request body bytes, into the upstream buffer (chunked when the proxy
 * frames the body). The window is given back once they are written. */
static int on_data(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
		   size_t len, void *user)
{
	struct h2_stream *s = stream_of(user, id);
	char line[24];

	(void)flags;
	if (!s || s->state == ST_LOCAL || s->state == ST_DONE || s->req_end) {
		nghttp2_session_consume(session, id, len);
		return 0;
	}
	if (s->chunked) {
		int n = snprintf(line, sizeof(line), "%zx\r\n", len);
		if (append(&s->up, &s->up_len, &s->up_cap, line, (size_t)n))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	if (append(&s->up, &s->up_len, &s->up_cap, data, len) ||
	    (s->chunked && append(&s->up, &s->up_len, &s->up_cap, "\r\n", 2)))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	s->unconsumed += len;
	up_interest(s);
	return 0;
}

static int on_frame(nghttp2_session *session, const nghttp2_frame *f, void *user)
{
	struct h2_stream *s;
	bool end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;

	(void)session;
	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	s = stream_of(user, f->hd.stream_id);
	if (!s)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
		request_head(s, end);
		return 0;
	}
	if (end && !s->req_end &&
	    (s->state == ST_READY || s->state == ST_CONNECTING || s->state == ST_FORWARDING)) {
		if (s->chunked && append(&s->up, &s->up_len, &s->up_cap, "0\r\n\r\n", 5))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		s->req_end = true;
		up_interest(s);
	}
	return 0;
}

static int on_close(nghttp2_session *session, int32_t id, uint32_t err, void *user)
{
	struct h2_stream *s = stream_of(user, id);

	(void)err;
	if (s) {
		nghttp2_session_set_stream_user_data(session, id, NULL);
		stream_close(s);
	}
	return 0;
}

/* ---- the upstream response (llhttp, response mode) ---- */

static struct h2_stream *of(llhttp_t *p)
{
	return p->data;
}

static int r_field(llhttp_t *p, const char *at, size_t len)
{
	struct h2_stream *s = of(p);

	if (s->nrf == 0 || s->in_value) {
		if (s->nrf == TS_HTTP_FIELDS_MAX)
			return -1;
		s->rf[s->nrf++] = (struct field_ref){ .no = (unsigned)s->rh_len };
		s->in_value = false;
	}
	if (s->rh_len + len > TS_HTTP_HEAD_MAX || append_str(&s->rh, &s->rh_len, at, len))
		return -1;
	s->rf[s->nrf - 1].nl += (unsigned)len;
	return 0;
}

static int r_value(llhttp_t *p, const char *at, size_t len)
{
	struct h2_stream *s = of(p);
	struct field_ref *f = &s->rf[s->nrf - 1];

	if (!s->in_value) {
		f->vo = (unsigned)s->rh_len;
		s->in_value = true;
	}
	if (s->rh_len + len > TS_HTTP_HEAD_MAX || append_str(&s->rh, &s->rh_len, at, len))
		return -1;
	f->vl += (unsigned)len;
	return 0;
}

/* Response fields that are the HTTP/1.1 connection's own (RFC 9113,
 * 8.2.2), and those its Connection field names. */
static bool hop_field(const struct h2_stream *s, const char *n, size_t len)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
		NULL,
	};

	if (ts_http_name_in(hop, n, len))
		return true;
	for (unsigned i = 0; i < s->nrf; i++) {
		const char *v = s->rh + s->rf[i].vo, *end = v + s->rf[i].vl;
		if (!ts_http_name_eq(s->rh + s->rf[i].no, s->rf[i].nl, "connection"))
			continue;
		while (v < end) {
			const char *comma = memchr(v, ',', (size_t)(end - v));
			const char *e = comma ? comma : end;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			const char *t = e;
			while (t > v && (t[-1] == ' ' || t[-1] == '\t'))
				t--;
			if ((size_t)(t - v) == len && !strncasecmp(v, n, len))
				return true;
			v = comma ? comma + 1 : end;
		}
	}
	return false;
}

/* The collected fields as nghttp2 name/value pairs (names lowercased),
 * hop-by-hop fields left out; extra slots first. Returns the count. */
static size_t fields_nv(struct h2_stream *s, nghttp2_nv *nv, size_t first)
{
	size_t n = first;

	for (unsigned i = 0; i < s->nrf; i++) {
		char *name = s->rh + s->rf[i].no;
		const char *v = s->rh + s->rf[i].vo;
		size_t vl = s->rf[i].vl;

		if (!s->rf[i].nl || hop_field(s, name, s->rf[i].nl))
			continue;
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		nv[n++] = (nghttp2_nv){ (uint8_t *)name, (uint8_t *)v, s->rf[i].nl, vl,
					NGHTTP2_NV_FLAG_NONE };
	}
	for (size_t i = first; i < n; i++)
		for (size_t j = 0; j < nv[i].namelen; j++)
			if (nv[i].name[j] >= 'A' && nv[i].name[j] <= 'Z')
				nv[i].name[j] = (uint8_t)(nv[i].name[j] - 'A' + 'a');
	return n;
}

static int r_headers_complete(llhttp_t *p)
{
	struct h2_stream *s = of(p);
	nghttp2_nv nv[TS_HTTP_FIELDS_MAX + 1];
	char code[8];
	size_t n;

	s->rstatus = llhttp_get_status_code(p);
	if (s->rstatus < 200 || s->rstatus > 999) {
		/* interim responses are the HTTP/1.1 hop's; 101 cannot happen
		 * (the request never asks for an upgrade) */
		if (s->rstatus == 101 || s->rstatus < 100)
			return -1;
		s->nrf = 0;
		s->rh_len = 0;
		s->in_value = false;
		return 0;
	}
	snprintf(code, sizeof(code), "%d", s->rstatus);
	nv[0] = (nghttp2_nv)NV(":status", code);
	n = fields_nv(s, nv, 1);
	if (submit(s, nv, n))
		return -1;
	/* trailers, if any, are collected afresh */
	s->nrf = 0;
	s->rh_len = 0;
	s->in_value = false;
	return s->head_method ? 1 : 0;
}

static int r_body(llhttp_t *p, const char *at, size_t len)
{
	struct h2_stream *s = of(p);

	/* the read was sized to the room left */
	if (s->body_off + s->body_len + len > PX_H2_BODY_BUF) {
		memmove(s->body, s->body + s->body_off, s->body_len);
		s->body_off = 0;
	}
	memcpy(s->body + s->body_off + s->body_len, at, len);
	s->body_len += len;
	return 0;
}

static int r_message_complete(llhttp_t *p)
{
	struct h2_stream *s = of(p);

	if (!s->submitted)
		return 0; /* an interim response */
	if (s->nrf) {
		s->trailers = calloc(s->nrf, sizeof(*s->trailers));
		if (!s->trailers)
			return -1;
		s->ntrailers = fields_nv(s, s->trailers, 0);
	}
	s->resp_done = true;
	return HPE_PAUSED;
}

static void resp_settings_init(void)
{
	llhttp_settings_init(&resp_settings);
	resp_settings.on_header_field = r_field;
	resp_settings.on_header_value = r_value;
	resp_settings.on_headers_complete = r_headers_complete;
	resp_settings.on_body = r_body;
	resp_settings.on_message_complete = r_message_complete;
}

/* ---- upstream I/O ---- */

static void fresh_connect(struct h2_stream *s);

/* A pooled connection that fails before any answer was most likely closed
 * by the upstream as it was being reused: a request without a body (its
 * framing still whole in the buffer) goes again on a new connection, as
 * nginx retries on its keepalive connections. */
static void upstream_failed(struct h2_stream *s)
{
	if (s->reused && !s->replied && s->req_end && !s->unconsumed && !s->submitted &&
	    !s->chunked && !s->cl) {
		drop_upstream(s);
		s->up_off = 0;
		fresh_connect(s);
		return;
	}
	if (!s->submitted) {
		local_answer(s, 502);
	} else {
		drop_upstream(s);
		s->state = ST_DONE;
		nghttp2_submit_rst_stream(s->h2->s, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
	}
}

static void upstream_write(struct h2_stream *s)
{
	while (s->up_off < s->up_len) {
		ssize_t n = send(s->ep.fd, s->up + s->up_off, s->up_len - s->up_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			upstream_failed(s);
			return;
		}
		s->up_off += (size_t)n;
	}
	if (!s->reused || s->cl || s->chunked) /* else kept for a retry */
		s->up_off = s->up_len = 0;
	if (s->unconsumed) {
		nghttp2_session_consume(s->h2->s, s->id, s->unconsumed);
		s->unconsumed = 0;
	}
}

static void upstream_read(struct h2_stream *s)
{
	char buf[H2_READ_BUF];
	bool keep = false;

	while (!s->resp_done && s->state == ST_FORWARDING) {
		size_t room = PX_H2_BODY_BUF - s->body_len;
		ssize_t n;
		llhttp_errno_t err;

		if (!room)
			return;
		n = recv(s->ep.fd, buf, room < sizeof(buf) ? room : sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			upstream_failed(s);
			return;
		}
		s->replied |= n > 0;
		err = n ? llhttp_execute(&s->parser, buf, (size_t)n) : llhttp_finish(&s->parser);
		if (err != HPE_OK && err != HPE_PAUSED) {
			upstream_failed(s);
			return;
		}
		/* reusable: the upstream keeps it, the request went whole, and
		 * nothing followed the response */
		keep = err == HPE_PAUSED && n > 0 && llhttp_should_keep_alive(&s->parser) &&
		       s->req_end && s->up_off == s->up_len &&
		       llhttp_get_error_pos(&s->parser) == buf + n;
		resume(s);
		if (n == 0 && !s->resp_done) {
			upstream_failed(s);
			return;
		}
	}
	if (s->resp_done) {
		if (keep)
			pool_put(s);
		else
			drop_upstream(s);
		s->state = ST_DONE;
		resume(s);
	}
}

/* Connected: the response side is set up, the request can go. */
static void stream_ready(struct h2_stream *s)
{
	struct px_conn *c = s->h2->c;

	if (!s->h2->ready_counted) { /* hand-off → first upstream connected */
		s->h2->ready_counted = true;
		px_stats_ready(&c->w->stats, px_now_us() - c->start_us);
	}
	s->state = ST_FORWARDING;
	if (!s->body)
		s->body = malloc(PX_H2_BODY_BUF);
	if (!s->body) {
		local_answer(s, H2_STATUS_INTERNAL);
		return;
	}
	llhttp_init(&s->parser, HTTP_RESPONSE, &resp_settings);
	s->parser.data = s;
	upstream_write(s);
	if (s->state == ST_FORWARDING)
		upstream_read(s);
}

static void stream_event(struct h2_stream *s)
{
	if (s->closed || s->ep.fd < 0)
		return;
	if (s->state == ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(s->ep.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			px_count(&s->h2->c->w->stats,
				 err == ECONNREFUSED ? PX_CONNECT_REFUSED : PX_CONNECT_ERROR, 1);
			local_answer(s, 502);
			return;
		}
		stream_ready(s);
		up_interest(s);
		return;
	}
	upstream_write(s);
	if (s->state == ST_FORWARDING)
		upstream_read(s);
	up_interest(s);
}

/* ---- the client connection ---- */

/* The client is read while nothing failed or ended and its answers are
 * taken: a peer that does not read cannot make us queue. */
static bool reading(struct px_h2 *h)
{
	return !h->failed && !h->client_eof && h->out_len - h->out_off < H2_OUT_MAX;
}

static void client_interest(struct px_h2 *h)
{
	uint32_t ev = 0;

	if (reading(h) && nghttp2_session_want_read(h->s))
		ev |= EPOLLIN;
	if (h->out_len > h->out_off || px_cio_want_write(&h->c->cio))
		ev |= EPOLLOUT;
	px_ep_update(h->c->w, &h->c->client, ev);
}

/* Frames from nghttp2 into h->out, then to the client. Returns -1 when the
 * client cannot be written to. */
static int client_flush(struct px_h2 *h)
{
	if (px_cio_flush(&h->c->cio) < 0)
		return errno == EAGAIN ? 0 : -1;
	for (;;) {
		if (h->out_off == h->out_len)
			h->out_off = h->out_len = 0;
		while (h->out_len < H2_OUT_MAX) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(h->s, &data);
			if (n < 0) {
				h->failed = true;
				break;
			}
			if (n == 0)
				break;
			char *nb = realloc(h->out, h->out_len + (size_t)n);
			if (!nb)
				return -1;
			h->out = nb;
			memcpy(h->out + h->out_len, data, (size_t)n);
			h->out_len += (size_t)n;
		}
		if (h->out_off == h->out_len)
			return 0;
		ssize_t w = px_cio_send(&h->c->cio, h->out + h->out_off, h->out_len - h->out_off);
		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		px_count(&h->c->w->stats, PX_BYTES_DOWN, (uint64_t)w);
		h->out_off += (size_t)w;
		if (h->out_off < h->out_len)
			return 0;
	}
}

static int client_read(struct px_h2 *h)
{
	char buf[H2_READ_BUF];

	while (reading(h)) {
		ssize_t n = px_cio_recv(&h->c->cio, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0) {
			h->client_eof = true;
			return 0;
		}
		px_count(&h->c->w->stats, PX_BYTES_UP, (uint64_t)n);
		ssize_t rv = nghttp2_session_mem_recv(h->s, (const uint8_t *)buf, (size_t)n);
		if (rv < 0)
			h->failed = true; /* GOAWAY queued (flood, protocol error) */
		else
			connect_ready(h);
		if (client_flush(h))
			return -1;
	}
	return 0;
}

static bool finished(struct px_h2 *h)
{
	if (h->out_len > h->out_off || px_cio_want_write(&h->c->cio))
		return h->client_eof && h->failed; /* nobody will read it */
	return h->failed || h->client_eof || (h->draining && !h->streams) ||
	       (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s));
}

/* After the client's or a stream's event: frames out, end or wait. Input
 * the client's transport holds is read now (epoll does not report it):
 * client_read() left it when h->out was full, which this flush emptied. */
static void settle(struct px_conn *c)
{
	struct px_h2 *h = c->h2;

	if (client_flush(h)) {
		px_conn_close(c, px_client_write_failed(c));
		return;
	}
	if (reading(h) && px_cio_has_input(&c->cio) && client_read(h)) {
		px_conn_close(c, PX_CLOSE_CLIENT_ERROR);
		return;
	}
	if (finished(h)) {
		px_conn_close(c, h->failed ? PX_CLOSE_CLIENT_ERROR : PX_CLOSE_DONE);
		return;
	}
	px_list_remove(c);
	px_list_append(&c->w->idle, c, px_now_ms() + c->w->set->idle_timeout_ms);
	client_interest(h);
}

void px_h2_event(struct px_conn *c, struct ev_io *ep, uint32_t events)
{
	struct px_h2 *h = c->h2;

	(void)events;
	if (ep == &c->client) {
		if (client_read(h)) {
			px_conn_close(c, PX_CLOSE_CLIENT_ERROR);
			return;
		}
		settle(c);
		return;
	}
	stream_event((struct h2_stream *)((char *)ep - offsetof(struct h2_stream, ep)));
	/* the frames of every stream answered in this epoll batch go out
	 * together: one write (one TLS record) instead of one per stream */
	if (!h->flush_queued) {
		h->flush_queued = true;
		c->h2_flush_next = c->w->h2_flush;
		c->w->h2_flush = c;
	}
}

void px_h2_drain(struct px_conn *c)
{
	struct px_h2 *h = c->h2;

	if (!h || h->draining)
		return;
	h->draining = true;
	/* RFC 9113, 6.8: no new streams; those already taken finish */
	nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->s),
			      NGHTTP2_NO_ERROR, NULL, 0);
	settle(c);
}

void px_h2_idle(struct px_conn *c)
{
	struct px_h2 *h = c->h2;

	/* RFC 9113, 9.1: GOAWAY before closing, so a client knows that no
	 * request it sends now was taken */
	nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->s),
			      NGHTTP2_NO_ERROR, NULL, 0);
	client_flush(h); /* best effort: the connection closes either way */
	px_conn_close(c, PX_CLOSE_IDLE);
}

void px_h2_flush(struct px_worker *w)
{
	while (w->h2_flush) {
		struct px_conn *c = w->h2_flush;
		w->h2_flush = c->h2_flush_next;
		if (c->closed || !c->h2)
			continue;
		c->h2->flush_queued = false;
		settle(c);
	}
}

/* ---- setup and teardown ---- */

static nghttp2_session_callbacks *cbs;

/* Once for all workers: the callbacks and llhttp's settings are shared,
 * read-only after this. */
static void callbacks_init(void)
{
	if (nghttp2_session_callbacks_new(&cbs))
		return;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
	resp_settings_init();
}

int px_h2_start(struct px_conn *c, const struct ts_handoff *hd)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, PX_H2_MAX_STREAMS },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, PX_H2_HEADER_LIST_MAX },
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
	};
	nghttp2_option *opt;
	struct px_h2 *h;
	int rc;

	pthread_once(&once, callbacks_init);
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->c = c;
	c->h2 = h;
	rc = px_mode_http_lines(c, hd, &h->extra, &h->extra_len);
	if (rc)
		return rc;
	if (!cbs || nghttp2_option_new(&opt))
		return -ENOMEM;
	/* windows are given back as bytes reach the upstream */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_stream_reset_rate_limit(opt, PX_H2_RESET_BURST, PX_H2_RESET_RATE);
	nghttp2_option_set_no_closed_streams(opt, 1);
	rc = nghttp2_session_server_new2(&h->s, cbs, h, opt);
	nghttp2_option_del(opt);
	if (rc)
		return -ENOMEM;
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])))
		return -ENOMEM;
	px_h2_event(c, &c->client, EPOLLIN);
	return 0;
}

void px_h2_free(struct px_conn *c)
{
	struct px_h2 *h = c->h2;

	if (!h)
		return;
	while (h->streams) {
		stream_close(h->streams);
	}
	px_count(&c->w->stats, PX_HTTP_REQUESTS, h->requests);
	pool_free(h);
	nghttp2_session_del(h->s);
	free(h->extra);
	free(h->out);
	free(h);
	c->h2 = NULL;
}
