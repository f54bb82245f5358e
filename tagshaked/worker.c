// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The worker thread: one epoll loop over its listeners, connections, proxy
 * link, a 100 ms timer for the timeouts, and an eventfd through which the
 * main thread hands over a new configuration generation or asks it to stop.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

#define EVENTS_BATCH 64
/* Accepts per readiness event: keeps one listener from starving the rest. */
#define ACCEPT_BATCH 64
#define TICK_MS 100

void ts_worker_set_events(struct ts_worker *w, struct ts_ep *ep, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = ep };
	int op;

	if (ep->fd < 0 || ep->events == events)
		return;
	/* 0 means "not registered" */
	op = ep->events == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
	if (epoll_ctl(w->epfd, op, ep->fd, &ev) < 0)
		ts_log(TS_LOG_ERROR, "worker %d: epoll_ctl: %s", w->id, strerror(errno));
	ep->events = events;
}

void ts_worker_resume_accepting(struct ts_worker *w)
{
	int i;

	w->accepting = true;
	for (i = 0; i < w->nlisteners; i++)
		ts_worker_set_events(w, &w->listeners[i], EPOLLIN);
}

static void pause_accepting(struct ts_worker *w)
{
	int i;

	w->accepting = false;
	for (i = 0; i < w->nlisteners; i++)
		ts_worker_set_events(w, &w->listeners[i], 0);
}

/* Connections waiting in a listener's accept queue (for a listening
 * socket, TCP_INFO's unacked field is the queue length). */
static unsigned listen_queued(int lfd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return 1; /* unknown: assume someone waits */
	return ti.tcpi_unacked;
}

void ts_worker_accept(struct ts_worker *w, int lfd)
{
	const struct ts_config *cfg = w->gen->cfg;
	int n;

	for (n = 0; n < ACCEPT_BATCH && w->accepting; n++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		uint32_t source;
		int fd;

		if (w->inflight >= cfg->max_inflight) {
			if (listen_queued(lfd) == 0)
				return; /* readable again when one arrives */
			ts_count(&w->stats, TS_HC_OVERLOAD);
			/* idle connections give way to new ones; only a bound full
			 * of clients that are talking waits in the accept queue */
			if (!ts_conn_shed_idle(w)) {
				pause_accepting(w);
				return;
			}
		}
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			       errno == ENOMEM)) {
			/* the listener stays readable: pause until the next tick
			 * instead of spinning on it */
			ts_count(&w->stats, TS_HC_OVERLOAD);
			pause_accepting(w);
			w->accept_retry = true;
			return;
		}
		if (fd < 0)
			return; /* EAGAIN, or a connection already gone */
		if (!ts_source_take(&ss, cfg->max_per_source, &source)) {
			/* one address cannot hold more of the bound than its share */
			ts_count(&w->stats, TS_HC_SOURCE_LIMIT);
			close(fd);
			continue;
		}
		/* TCP_NODELAY comes from the listener (ts_listener_open) */
		ts_conn_accepted(w, fd, source, &ss);
	}
}

static void take_generation(struct ts_worker *w)
{
	struct ts_gen *g = __atomic_exchange_n(&w->next_gen, NULL, __ATOMIC_ACQ_REL);

	if (!g)
		return;
	ts_gen_put(w->gen);
	w->gen = g;
	if (strcmp(w->maps.pin_dir, g->cfg->pin_dir)) {
		ts_maps_close(&w->maps);
		ts_maps_init(&w->maps, g->cfg->pin_dir);
	}
	/* a changed hand-off path takes effect on the next link */
	ts_link_close(w);
	ts_link_flush(w);
}

static void begin_drain(struct ts_worker *w)
{
	const struct ts_config *cfg = w->gen->cfg;
	int i;

	pause_accepting(w);
	for (i = 0; i < w->nlisteners; i++) {
		close(w->listeners[i].fd);
		w->listeners[i].fd = -1;
	}
	w->nlisteners = 0;
	/* handshakes and hand-offs end by their own timeouts; relays get as long */
	w->drain_deadline_ms = ts_now_ms() + cfg->handshake_timeout_ms + cfg->handoff_timeout_ms;
}

static void close_list(struct ts_list *l)
{
	while (!ts_list_empty(l))
		ts_conn_close(ts_conn_first(l));
}

static bool drained(struct ts_worker *w, uint64_t now)
{
	if (!ts_list_empty(&w->hellos) || !ts_list_empty(&w->handshakes) ||
	    !ts_list_empty(&w->handoffs))
		return false;
	if (!ts_list_empty(&w->relays) && now < w->drain_deadline_ms)
		return false;
	close_list(&w->relays);
	return true;
}

static void on_wake(struct ts_worker *w)
{
	uint64_t v;

	if (read(w->wake.fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	take_generation(w);
	if (__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) && w->drain_deadline_ms == 0)
		begin_drain(w);
}

static void on_tick(struct ts_worker *w)
{
	uint64_t v, now = ts_now_ms();

	if (read(w->timer.fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	ts_conn_timeouts(w, now);
	ts_link_timeouts(w, now);
	ts_relay_timeouts(w, now);
	if (w->accept_retry && !w->stop && w->inflight < w->gen->cfg->max_inflight) {
		w->accept_retry = false;
		ts_worker_resume_accepting(w);
	}
}

static void dispatch(struct ts_worker *w, struct ts_ep *ep, uint32_t events)
{
	switch (ep->kind) {
	case TS_EP_LISTENER: ts_worker_accept(w, ep->fd); break;
	case TS_EP_CONN: ts_conn_event(ep->obj, events); break;
	case TS_EP_PAIR:
		if (((struct ts_conn *)ep->obj)->state == TS_CS_RELAY)
			ts_relay_event(ep->obj, ep);
		break;
	case TS_EP_LINK: ts_link_event(w, events); break;
	case TS_EP_TIMER: on_tick(w); break;
	case TS_EP_WAKE: on_wake(w); break;
	}
}

static void *worker_main(void *arg)
{
	struct ts_worker *w = arg;
	struct epoll_event ev[EVENTS_BATCH];

	for (;;) {
		int n = epoll_wait(w->epfd, ev, EVENTS_BATCH, -1), i;

		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
			dispatch(w, ev[i].data.ptr, ev[i].events);
		ts_conn_reap(w);
		if (w->drain_deadline_ms && drained(w, ts_now_ms()))
			break;
	}
	ts_conn_reap(w);
	ts_link_close(w);
	return NULL;
}

static int add_fixed(struct ts_worker *w, struct ts_ep *ep, enum ts_ep_kind kind, int fd)
{
	*ep = (struct ts_ep){ .kind = kind, .obj = w, .fd = fd };
	if (fd < 0)
		return -errno;
	ts_worker_set_events(w, ep, EPOLLIN);
	return 0;
}

int ts_worker_start(struct ts_worker *w)
{
	struct itimerspec tick = {
		.it_interval = { .tv_nsec = TICK_MS * 1000000L },
		.it_value = { .tv_nsec = TICK_MS * 1000000L },
	};
	int i, err;

	ts_list_init(&w->hellos);
	ts_list_init(&w->handshakes);
	ts_list_init(&w->handoffs);
	ts_list_init(&w->relays);
	ts_list_init(&w->dead);
	w->link = (struct ts_ep){ .kind = TS_EP_LINK, .obj = w, .fd = -1 };
	ts_maps_init(&w->maps, w->gen->cfg->pin_dir);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	err = add_fixed(w, &w->wake, TS_EP_WAKE, eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	if (!err)
		err = add_fixed(w, &w->timer, TS_EP_TIMER,
				timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
	if (!err && timerfd_settime(w->timer.fd, 0, &tick, NULL) < 0)
		err = -errno;
	for (i = 0; !err && i < w->nlisteners; i++)
		ts_worker_set_events(w, &w->listeners[i], EPOLLIN);
	w->accepting = true;
	if (!err)
		err = -pthread_create(&w->thread, NULL, worker_main, w);
	return err;
}
