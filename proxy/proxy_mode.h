/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Per-route metadata modes of the proxy: proxy-v2, http, raw. */
#ifndef TS_PROXY_MODE_H
#define TS_PROXY_MODE_H

#include "proxy.h"

/* Prepares c->up for c->route's mode from the hand-off metadata: queues
 * the PROXY v2 header, or installs the http filter. Returns 0 or a negative
 * errno (-EBADMSG: metadata that cannot be forwarded). */
int px_mode_setup(struct px_conn *c, const struct ts_handoff *h);

/* The identity field lines of the route's style and the forwarding lines
 * ("Name: value\r\n" each) for every request of this connection, in a
 * malloc'd *out. Returns 0 or a negative errno. */
int px_mode_http_lines(struct px_conn *c, const struct ts_handoff *h, char **out, size_t *len);

/* Judges a request's host (no port) against the connection's SNI policy,
 * as ts_http_host_check: 0 to forward, 400 or 421. ctx: the px_conn. */
int px_mode_host_check(void *ctx, const char *host, size_t len);

#endif /* TS_PROXY_MODE_H */
