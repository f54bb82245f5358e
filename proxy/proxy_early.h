/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Early connect: upstream connections opened when the handshaker says a
 * connection's ClientHello is decided (TS_MODE_EARLY, include/ts_handoff.h),
 * taken by that connection's hand-off, closed unused, without a byte sent,
 * when the handshaker cancels it, after the handshake and hand-off
 * timeouts, or when its link closes. docs/security.md says for which
 * policies and why.
 */
#ifndef TS_PROXY_EARLY_H
#define TS_PROXY_EARLY_H

#include "ts_handoff.h"

struct ev_timer;
struct px_worker;
struct px_gen;

/* An upstream connection waiting for its hand-off. */
struct px_early {
	struct px_early *next;
	const void *link; /* the handshaker link it came on (identity only) */
	struct ts_addr peer, local;
	struct px_gen *gen;
	unsigned route_id;
	int fd;
	uint64_t deadline_ms;
};

/* Upstream connections a worker holds open for hand-offs to come: the
 * handshaker's default in-flight bound (limits.max_inflight, 1024) per
 * worker, so one handshaker worker cannot hold more. */
#define PX_EARLY_MAX 1024

/* An early-connect message (either mode) from link; releases h. */
void px_early_message(struct px_worker *w, const void *link, struct ts_handoff *h);
/* The upstream fd opened early for this hand-off (generation g, route
 * route_id), or -1 when there is none. */
int px_early_take(struct px_worker *w, const struct ts_handoff_meta *m, const struct px_gen *g,
		  unsigned route_id);
/* Closes those of link (NULL: all). */
void px_early_link_closed(struct px_worker *w, const void *link);
/* The worker's early_timer: closes the expired ones, waits for the next. */
void px_early_due(struct ev_timer *t, void *w);

#endif /* TS_PROXY_EARLY_H */
