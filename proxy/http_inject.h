/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The client-to-upstream half of the proxy's `http` mode: parses each
 * HTTP/1.x request (keep-alive, pipelining, chunked bodies) with llhttp in
 * strict mode and re-emits it in a form of its own: the request line with an
 * origin-form target, the Host the authority was judged on, the client's
 * fields minus identity, forwarding and framing fields, a framing field and
 * body framing the proxy wrote itself (chunked bodies are decoded and
 * re-chunked, trailers dropped), then the connection's own metadata and
 * forwarding fields. Nothing the client framed reaches the upstream. The
 * caller owns the buffers; a call consumes input only as far as the output
 * has room (backpressure).
 */
#ifndef TS_HTTP_INJECT_H
#define TS_HTTP_INJECT_H

#include <stddef.h>
#include <sys/types.h>

/* Limit of one request head (request line + header fields), as nginx's
 * large_client_header_buffers default; beyond it the answer is 431. */
#define TS_HTTP_HEAD_MAX 16384
/* Header fields per request; beyond it the answer is 431. */
#define TS_HTTP_FIELDS_MAX 128

struct ts_http_inject;

/*
 * Decides on a request's authority (the Host field, equal to the authority
 * of an absolute-form target, or the SNI when an HTTP/1.0 request has none).
 * host is not NUL terminated and carries no port. Returns 0 to forward, or
 * the status to answer with (400, 421).
 */
typedef int (*ts_http_host_check)(void *ctx, const char *host, size_t len);

struct ts_http_opts {
	/* header lines ("Name: value\r\n" each) appended to every request */
	const char *inject;
	size_t inject_len;
	/* NULL-terminated names of identity fields, compared canonically
	 * (ASCII case-folded, '_' equal to '-'); client copies are removed */
	const char *const *strip;
	ts_http_host_check check;
	void *ctx;
	/* the TLS server name: the authority of an HTTP/1.0 request without
	 * Host; NULL or "" when the client sent none */
	const char *sni;
	/* the client's numeric address: the proxy's own X-Forwarded-For,
	 * Forwarded and X-Forwarded-Proto; NULL to send none (the client's
	 * copies are removed either way) */
	const char *client_addr;
};

/* Returns NULL on allocation failure. The options are copied. */
struct ts_http_inject *ts_http_inject_new(const struct ts_http_opts *o);
void ts_http_inject_free(struct ts_http_inject *h);

/* Output room a caller must offer before feeding: a rebuilt head. */
size_t ts_http_inject_reserve(const struct ts_http_inject *h);

/*
 * Feeds client bytes. Appends what goes upstream to out (*out_len grows,
 * never beyond out_cap) and sets *consumed to the input bytes used (the rest
 * must be fed again later). Returns 0 to go on, or an HTTP status (400, 421,
 * 431, 501) when the connection must stop forwarding and answer locally.
 */
int ts_http_inject_feed(struct ts_http_inject *h, const char *in, size_t in_len, char *out,
			size_t *out_len, size_t out_cap, size_t *consumed);

/* Requests whose head went upstream. */
unsigned long ts_http_inject_requests(const struct ts_http_inject *h);

/* Writes a complete local response with Connection: close into buf;
 * returns its length. */
size_t ts_http_local_response(int status, char *buf, size_t cap);

#endif /* TS_HTTP_INJECT_H */
