/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The proxy's connection log (logging.connections): one logfmt line per
 * proxied connection when it closes, in the style of tagshaked's
 * (tagshaked/connlog.c): result (the close reason), sni, policy, action, route,
 * mode, subject, bytes each way, HTTP requests, ms from the hand-off. */
#ifndef TS_PROXY_CONNLOG_H
#define TS_PROXY_CONNLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_handoff.h"

struct ts_cfg_route;
struct px_connlog;

/* Set once at start, read by every worker. */
extern bool px_connlog_enabled;

/* What the hand-off said, copied (its TLVs are released right after).
 * NULL when the log is off or memory is short (the connection goes on
 * without its line). */
struct px_connlog *px_connlog_new(const struct ts_handoff_meta *m,
				  const struct ts_cfg_route *route, uint64_t start_us);

/* Payload bytes relayed, client → upstream and back. */
void px_connlog_bytes(struct px_connlog *l, uint64_t up, uint64_t down);

/* Writes the line (result: a close reason such as done, idle, no_route,
 * upstream_down, http_421; requests < 0: not an HTTP route) and frees l.
 * NULL l: nothing. */
void px_connlog_close(struct px_connlog *l, const char *result, long requests, uint64_t now_us);

/* A hand-off closed before it became a connection (no route). */
void px_connlog_refused(const struct ts_handoff_meta *m, const char *result);

#endif /* TS_PROXY_CONNLOG_H */
