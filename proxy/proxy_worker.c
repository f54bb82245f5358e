// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A proxy worker: one thread, one event loop (lib/ev.h) that sleeps until
 * the earliest deadline of its connecting and idle lists, woken by the main
 * thread's drain or stop (ev_stop). Every worker watches the
 * shared hand-off listener (EPOLLEXCLUSIVE wakes one of them per
 * handshaker connection); a handshaker connection then belongs to the worker
 * that accepted it, and so do the connections handed off through it.
 */
#include "proxy.h"
#include "h2_conn.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Hand-offs taken from one handshaker connection per event, so one busy
 * handshaker cannot starve the relays. */
#define PX_HANDOFFS_PER_EVENT 64

/* A handshaker connection: hand-offs arrive on it. */
struct px_link {
	struct ev_io io; /* PX_EP_HANDSHAKER, obj: this link */
	struct px_link *next;
};

static void handshaker_close(struct px_worker *w, struct px_link *link)
{
	for (struct px_link **p = &w->links; *p; p = &(*p)->next)
		if (*p == link) {
			*p = link->next;
			break;
		}
	px_early_link_closed(w, link);
	px_ep_update(w, &link->io, 0);
	close(link->io.fd);
	free(link);
}

static void handshaker_readable(struct px_worker *w, struct px_link *link)
{
	for (int i = 0; i < PX_HANDOFFS_PER_EVENT; i++) {
		struct ts_handoff h;
		int rc = ts_handoff_recv(link->io.fd, &h);
		if (rc == -EAGAIN)
			return;
		if (rc == -EBADMSG) {
			px_count(&w->stats, PX_HANDOFF_BAD, 1);
			ts_log(TS_LOG_WARN, "hand-off refused: malformed message (TLVs, not one fd, "
					    "or records mode without its secrets)");
			continue;
		}
		if (rc < 0) {
			/* the handshaker went away (restart); its worker reconnects */
			handshaker_close(w, link);
			return;
		}
		if (ts_handoff_mode_early(h.meta.mode))
			px_early_message(w, link, &h);
		else
			px_conn_start(w, &h);
	}
}

/* Whoever connects can hand over connections with any metadata: the file
 * mode keeps others out, SO_PEERCRED names who came in. Root, our own
 * user and handoff.handshaker_user may. */
static bool peer_allowed(struct px_worker *w, int fd)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t len = sizeof(cred);
	long allowed = __atomic_load_n(&w->set->gens->handshaker_uid, __ATOMIC_RELAXED);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	    ts_config_peer_allowed(allowed, cred.uid))
		return true;
	px_count(&w->stats, PX_HANDSHAKERS_REFUSED, 1);
	ts_log(TS_LOG_WARN, "hand-off link refused: peer uid %ld pid %ld is not an allowed handshaker",
	       (long)(int)cred.uid, (long)cred.pid);
	return false;
}

static void listener_readable(struct px_worker *w)
{
	int fd = accept4(w->listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct px_link *link;

	if (fd < 0)
		return; /* another worker took it, or a transient error */
	if (!peer_allowed(w, fd)) {
		close(fd);
		return;
	}
	link = calloc(1, sizeof(*link));
	if (!link) {
		close(fd);
		return;
	}
	*link = (struct px_link){ .io = { .kind = PX_EP_HANDSHAKER, .fd = fd, .obj = link },
				  .next = w->links };
	w->links = link;
	px_count(&w->stats, PX_HANDSHAKERS, 1);
	px_ep_update(w, &link->io, EPOLLIN);
}

static void dispatch(struct ev_loop *l, struct ev_io *ep, uint32_t events, void *arg)
{
	struct px_worker *w = arg;

	(void)l;
	switch (ep->kind) {
	case EV_KIND_WAKE:
		break; /* a drain or stop: keep_running() reads it */
	case PX_EP_LISTEN:
		listener_readable(w);
		break;
	case PX_EP_HANDSHAKER:
		handshaker_readable(w, ep->obj);
		break;
	case PX_EP_CLIENT:
	case PX_EP_UPSTREAM:
		if (!((struct px_conn *)ep->obj)->closed)
			px_conn_event(ep->obj, ep, events);
		break;
	}
}

static void free_dead(struct px_worker *w)
{
	px_h2_reap(w);
	while (w->dead) {
		struct px_conn *c = w->dead;
		w->dead = c->next_dead;
		px_gen_put(c->gen);
		free(c);
	}
}

static void close_all(struct px_worker *w)
{
	struct px_conn *c;

	while ((c = px_conn_of(ev_list_first(&w->idle))))
		px_conn_close(c, PX_CLOSE_SHUTDOWN);
	while ((c = px_conn_of(ev_list_first(&w->connecting))))
		px_conn_close(c, PX_CLOSE_SHUTDOWN);
}

/* Draining: no new handshaker links; each open link is shut for reading,
 * so the handshaker's next send fails and it reconnects (to the next proxy),
 * while the hand-offs already queued on it are still read here. */
/* HTTP/2 connections are told to go (GOAWAY) instead of being waited for:
 * a browser keeps its connection open as long as it is allowed to. */
static void drain_h2(struct px_worker *w)
{
	size_t n = 0, i = 0;
	struct px_conn **all;
	struct ev_entry *e;

	for (e = ev_list_first(&w->idle); e; e = ev_list_next(e))
		n += px_conn_of(e)->h2 != NULL;
	all = n ? calloc(n, sizeof(*all)) : NULL;
	if (!all)
		return;
	/* draining moves or closes a connection: walk a copy of the list */
	for (e = ev_list_first(&w->idle); e && i < n; e = ev_list_next(e))
		if (px_conn_of(e)->h2)
			all[i++] = px_conn_of(e);
	for (i = 0; i < n; i++)
		if (!all[i]->closed)
			px_h2_drain(all[i]);
	free(all);
}

static void start_drain(struct px_worker *w)
{
	drain_h2(w);
	px_ep_update(w, &w->listen, 0);
	for (struct px_link *link = w->links; link; link = link->next)
		shutdown(link->io.fd, SHUT_RD);
	w->draining = true;
	w->drain_deadline_ms = px_now_ms() + w->set->drain_timeout_ms;
	ev_timer_at(&w->loop, &w->drain_timer, w->drain_deadline_ms);
}

/* Only wakes the loop: keep_running() ends the drain. */
static void drain_due(struct ev_timer *t, void *w)
{
	(void)t, (void)w;
}

static bool keep_running(struct px_worker *w)
{
	int run = ev_stopped(&w->loop);

	if (run == PX_STOP)
		return false;
	if (run == PX_DRAIN && !w->draining)
		start_drain(w);
	if (w->draining && ((w->conns == 0 && !w->links) || px_now_ms() >= w->drain_deadline_ms))
		return false;
	return true;
}

/* A deadline list of the worker, expired by its loop. */
static void watch(struct px_worker *w, struct ev_list *l)
{
	ev_list_init(l, px_conn_timeout, w);
	ev_watch(&w->loop, l);
}

int px_worker_init(struct px_worker *w)
{
	int err = ev_loop_init(&w->loop);

	if (err)
		return err;
	watch(w, &w->connecting);
	watch(w, &w->idle);
	ev_timer_init(&w->drain_timer, drain_due, w);
	ev_timer_init(&w->early_timer, px_early_due, w);
	return 0;
}

int px_worker_run(struct px_worker *w)
{
	int err = ev_set(&w->loop, &w->listen, EPOLLIN | EPOLLEXCLUSIVE);

	while (!err && keep_running(w)) {
		int n = ev_wait(&w->loop, dispatch, w);
		if (n < 0) {
			err = n;
			break;
		}
		px_h2_flush(w);
		ev_expire(&w->loop);
		free_dead(w);
	}
	close_all(w);
	free_dead(w);
	while (w->links)
		handshaker_close(w, w->links);
	px_pipe_pool_drain(&w->pipes);
	return err;
}
