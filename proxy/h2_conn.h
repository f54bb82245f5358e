/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * HTTP/2 on http routes (ALPN h2): the client connection is an nghttp2
 * server session; every request stream is one HTTP/1.1 exchange on an
 * upstream connection (a new one or one kept alive by this client
 * connection), its request framed by the proxy under the same rules as
 * HTTP/1.x (http_rules.h), its response parsed with llhttp and re-submitted
 * to nghttp2 (status, fields, body, trailers).
 */
#ifndef TS_H2_CONN_H
#define TS_H2_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy.h"

/* SETTINGS_MAX_CONCURRENT_STREAMS: each open stream holds at most one
 * upstream connection; nginx's http2_max_concurrent_streams is 128. */
#define PX_H2_MAX_STREAMS 100
/* SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113, 6.5.2: name + value + 32 per
 * field), the same bound as an HTTP/1 head; beyond it the stream gets 431. */
#define PX_H2_HEADER_LIST_MAX 16384
/* Response body bytes held per stream before the upstream is read again. */
#define PX_H2_BODY_BUF 65536
/* Idle keep-alive upstream connections kept per HTTP/2 connection, and
 * how long one stays reusable: an upstream may close an idle connection
 * at any time (gunicorn after 2 s, nginx 75 s), and a request written into
 * that close is lost, so only connections idle for less than this are
 * reused (after a check that the upstream has not closed them). */
#define PX_H2_POOL_MAX 32
#define PX_H2_POOL_IDLE_MS 1000
/* RST_STREAM token bucket (CVE-2023-44487, rapid reset): a burst of 200,
 * then 100 a second; beyond it the connection gets GOAWAY. */
#define PX_H2_RESET_BURST 200
#define PX_H2_RESET_RATE 100

/* Whether the hand-off negotiated ALPN h2. */
bool px_h2_alpn(const struct ts_handoff *h);

/* Takes over c (client fd set, route known) as an HTTP/2 connection.
 * Returns 0 or a negative errno. */
int px_h2_start(struct px_conn *c, const struct ts_handoff *h);
void px_h2_event(struct px_conn *c, struct ev_io *ep, uint32_t events);
/* Draining (SIGTERM): GOAWAY, then close once the open streams ended. */
void px_h2_drain(struct px_conn *c);
/* The idle timeout: GOAWAY, then closed. */
void px_h2_idle(struct px_conn *c);
/* Sends what the streams of this epoll batch produced, per connection. */
void px_h2_flush(struct px_worker *w);
/* Closes every stream's upstream; the streams are freed by px_h2_reap(). */
void px_h2_free(struct px_conn *c);
/* Frees the streams closed in this epoll batch (later events of the batch
 * may still name their endpoints). */
void px_h2_reap(struct px_worker *w);

#endif /* TS_H2_CONN_H */
