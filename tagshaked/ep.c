// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A worker's epoll interest: every socket's registration goes through here,
 * so that the state machine, the link and the relay set interest without
 * calling back into the worker's loop. */
#include <string.h>
#include <sys/epoll.h>

#include "ep.h"
#include "log.h"
#include "worker.h"

void ts_worker_set_events(struct ts_worker *w, struct ev_io *io, uint32_t events)
{
	int err = ev_set(&w->loop, io, events);

	if (err)
		ts_log(TS_LOG_ERROR, "worker %d: epoll_ctl: %s", w->id, strerror(-err));
}

void ts_worker_resume_accepting(struct ts_worker *w)
{
	int i;

	w->accepting = true;
	for (i = 0; i < w->nlisteners; i++)
		ts_worker_set_events(w, &w->listeners[i], EPOLLIN);
}

void ts_worker_pause_accepting(struct ts_worker *w)
{
	int i;

	w->accepting = false;
	for (i = 0; i < w->nlisteners; i++)
		ts_worker_set_events(w, &w->listeners[i], 0);
}
