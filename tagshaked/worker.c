// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The worker thread: one event loop (lib/ev.h) over its listeners,
 * connections and proxy link, sleeping until the earliest deadline of its
 * lists; its wake-up is how the main thread hands over a new configuration
 * generation, its stop how it asks for a drain.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "generation.h"
#include "handoff_link.h"
#include "log.h"
#include "relay.h"
#include "source.h"
#include "worker.h"

/* Accepts per readiness event: keeps one listener from starving the rest. */
#define ACCEPT_BATCH 64
/* Pause after an accept failed for lack of fds or memory: some connections
 * end meanwhile, and the readable listener does not spin the loop. */
#define ACCEPT_RETRY_MS 100

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
				ts_worker_pause_accepting(w);
				return;
			}
		}
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			       errno == ENOMEM)) {
			/* the listener stays readable: pause for a while
			 * instead of spinning on it */
			ts_count(&w->stats, TS_HC_OVERLOAD);
			ts_worker_pause_accepting(w);
			w->accept_retry = true;
			ev_timer_at(&w->loop, &w->accept_timer, ts_now_ms() + ACCEPT_RETRY_MS);
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
	ts_conn_flush_handoffs(w);
}

static void begin_drain(struct ts_worker *w)
{
	const struct ts_config *cfg = w->gen->cfg;
	int i;

	ts_worker_pause_accepting(w);
	for (i = 0; i < w->nlisteners; i++) {
		close(w->listeners[i].fd);
		w->listeners[i].fd = -1;
	}
	w->nlisteners = 0;
	/* handshakes and hand-offs end by their own timeouts; relays get as long */
	w->drain_deadline_ms = ts_now_ms() + cfg->handshake_timeout_ms + cfg->handoff_timeout_ms;
	ev_timer_at(&w->loop, &w->drain_timer, w->drain_deadline_ms);
}

/* Only wakes the loop: drained() closes the relays left. */
static void drain_due(struct ev_timer *t, void *w)
{
	(void)t, (void)w;
}

static void close_list(struct ev_list *l)
{
	struct ts_conn *c;

	while ((c = ts_conn_first(l)))
		ts_conn_close(c);
}

static bool drained(struct ts_worker *w, uint64_t now)
{
	if (!ev_list_empty(&w->hellos) || !ev_list_empty(&w->handshakes) ||
	    !ev_list_empty(&w->handoffs))
		return false;
	if (!ev_list_empty(&w->relays) && now < w->drain_deadline_ms)
		return false;
	close_list(&w->relays);
	return true;
}

static void on_wake(struct ts_worker *w)
{
	take_generation(w);
	if (ev_stopped(&w->loop) && w->drain_deadline_ms == 0)
		begin_drain(w);
}

static void accept_retry_due(struct ev_timer *t, void *arg)
{
	struct ts_worker *w = arg;

	(void)t;
	w->accept_retry = false;
	/* at the in-flight bound, end_handshake resumes instead */
	if (!ev_stopped(&w->loop) && w->inflight < w->gen->cfg->max_inflight)
		ts_worker_resume_accepting(w);
}

/* The link is down and connections wait for it: connect again. */
static void link_retry_due(struct ev_timer *t, void *arg)
{
	struct ts_worker *w = arg;

	(void)t;
	if (!ev_list_empty(&w->handoffs) && w->link.fd < 0)
		ts_conn_flush_handoffs(w);
}

static void dispatch(struct ev_loop *l, struct ev_io *ep, uint32_t events, void *arg)
{
	struct ts_worker *w = arg;

	(void)l;
	switch (ep->kind) {
	case EV_KIND_WAKE: on_wake(w); break;
	case TS_EP_LISTENER: ts_worker_accept(w, ep->fd); break;
	case TS_EP_CONN: ts_conn_event(ep->obj, events); break;
	case TS_EP_PAIR: ts_conn_pair_event(ep->obj); break;
	case TS_EP_LINK:
		if (ts_link_event(w, events) == TS_LINK_WRITABLE)
			ts_conn_flush_handoffs(w);
		break;
	}
}

static void *worker_main(void *arg)
{
	struct ts_worker *w = arg;

	for (;;) {
		if (ev_wait(&w->loop, dispatch, w) < 0)
			break;
		ev_expire(&w->loop);
		ts_conn_reap(w);
		if (w->drain_deadline_ms && drained(w, ev_now(&w->loop)))
			break;
	}
	ts_conn_reap(w);
	ts_link_close(w);
	return NULL;
}

/* A deadline list of the worker, expired by its loop. */
static void watch(struct ts_worker *w, struct ev_list *l, ev_expire_fn *expire)
{
	ev_list_init(l, expire, w);
	ev_watch(&w->loop, l);
}

int ts_worker_start(struct ts_worker *w)
{
	int i, err;

	err = ev_loop_init(&w->loop);
	if (err)
		return err;
	watch(w, &w->hellos, ts_conn_hello_timeout);
	watch(w, &w->handshakes, ts_conn_handshake_timeout);
	watch(w, &w->handoffs, ts_conn_handoff_timeout);
	watch(w, &w->relays, ts_conn_relay_idle_timeout);
	ev_list_init(&w->dead, NULL, NULL);
	ev_timer_init(&w->accept_timer, accept_retry_due, w);
	ev_timer_init(&w->link_timer, link_retry_due, w);
	ev_timer_init(&w->drain_timer, drain_due, w);
	w->link = (struct ev_io){ .kind = TS_EP_LINK, .obj = w, .fd = -1 };
	ts_maps_init(&w->maps, w->gen->cfg->pin_dir);
	for (i = 0; i < w->nlisteners; i++)
		ts_worker_set_events(w, &w->listeners[i], EPOLLIN);
	w->accepting = true;
	return -pthread_create(&w->thread, NULL, worker_main, w);
}
