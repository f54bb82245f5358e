/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The client-to-upstream half of the proxy's `http` mode: parses each
 * HTTP/1.1 request (keep-alive, pipelining, chunked bodies) with Debian's
 * http-parser, rebuilds each request head without client-supplied copies of
 * the metadata headers and with the connection's own ones appended, and
 * passes bodies through byte for byte. The caller owns the buffers; a call
 * consumes input only as far as the output has room (backpressure).
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
 * Decides on a request's authority (the Host header, or the host of an
 * absolute-form target). host is not NUL terminated and may carry a port.
 * Returns 0 to forward, or the status to answer with (400, 421).
 */
typedef int (*ts_http_host_check)(void *ctx, const char *host, size_t len);

/*
 * inject: header lines appended to every request head (copied).
 * strip: NULL-terminated lowercase names removed from every request.
 * Returns NULL on allocation failure.
 */
struct ts_http_inject *ts_http_inject_new(const char *inject, size_t inject_len,
					  const char *const *strip, ts_http_host_check check,
					  void *ctx);
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
