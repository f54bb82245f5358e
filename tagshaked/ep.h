/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* What a worker's epoll event points at, and the interest of each socket
 * in that epoll (ep.c): the one place that calls epoll_ctl. */
#ifndef TS_EP_H
#define TS_EP_H

#include <stdint.h>

enum ts_ep_kind { TS_EP_LISTENER, TS_EP_CONN, TS_EP_PAIR, TS_EP_LINK, TS_EP_TIMER, TS_EP_WAKE };

struct ts_ep {
	enum ts_ep_kind kind;
	void *obj;
	int fd;
	uint32_t events; /* current interest */
};

struct ts_worker;

/* Sets ep's interest (0: out of epoll). Nothing to do for a closed fd. */
void ts_worker_set_events(struct ts_worker *w, struct ts_ep *ep, uint32_t events);
/* Listeners in and out of epoll: the in-flight bound, overload, drain. */
void ts_worker_resume_accepting(struct ts_worker *w);
void ts_worker_pause_accepting(struct ts_worker *w);

#endif /* TS_EP_H */
