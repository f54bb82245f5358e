/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What a worker's epoll event points at, and the interest of each socket
 * in the worker's loop (ep.c, over lib/ev.h's ev_set). */
#ifndef TS_EP_H
#define TS_EP_H

#include <stdint.h>

#include "ev.h"

/* The kind of a worker's struct ev_io (its obj is the worker or the
 * connection). */
enum ts_ep_kind { TS_EP_LISTENER, TS_EP_CONN, TS_EP_PAIR, TS_EP_LINK };

struct ts_worker;

/* Sets io's interest (0: out of epoll); logs a failure. */
void ts_worker_set_events(struct ts_worker *w, struct ev_io *io, uint32_t events);
/* Listeners in and out of epoll: the in-flight bound, overload, drain. */
void ts_worker_resume_accepting(struct ts_worker *w);
void ts_worker_pause_accepting(struct ts_worker *w);

#endif /* TS_EP_H */
