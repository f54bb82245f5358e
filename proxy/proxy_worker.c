// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A proxy worker: one thread, one epoll loop. Every worker watches the
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

/* Events taken from epoll per wait. */
#define PX_EVENTS_MAX 64
/* Longest sleep, so a drain or stop request is seen quickly. */
#define PX_TICK_MS 200
/* Hand-offs taken from one handshaker connection per event, so one busy
 * handshaker cannot starve the relays. */
#define PX_HANDOFFS_PER_EVENT 64

void px_ep_update(struct px_worker *w, struct px_ep *ep, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = ep };

	if (ep->fd < 0 || (ep->registered && ep->events == events))
		return;
	if (events == 0) {
		/* leaving epoll also silences EPOLLHUP on a side with nothing to do */
		if (ep->registered)
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, ep->fd, NULL);
		ep->registered = false;
	} else if (epoll_ctl(w->epfd, ep->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, ep->fd, &ev) == 0) {
		ep->registered = true;
	}
	ep->events = events;
}

void px_list_remove(struct px_conn *c)
{
	struct px_list *l = c->list;

	if (!l)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	c->list = NULL;
}

void px_list_append(struct px_list *l, struct px_conn *c, uint64_t deadline_ms)
{
	c->deadline_ms = deadline_ms;
	c->list = l;
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
}

static void handshaker_close(struct px_worker *w, struct px_ep *ep)
{
	for (struct px_ep **p = &w->links; *p; p = &(*p)->next_link)
		if (*p == ep) {
			*p = ep->next_link;
			break;
		}
	px_early_link_closed(w, ep);
	px_ep_update(w, ep, 0);
	close(ep->fd);
	free(ep);
}

static void handshaker_readable(struct px_worker *w, struct px_ep *ep)
{
	for (int i = 0; i < PX_HANDOFFS_PER_EVENT; i++) {
		struct ts_handoff h;
		int rc = ts_handoff_recv(ep->fd, &h);
		if (rc == -EAGAIN)
			return;
		if (rc == -EBADMSG) {
			px_count(&w->stats, PX_HANDOFF_BAD, 1);
			continue;
		}
		if (rc < 0) {
			/* the handshaker went away (restart); its worker reconnects */
			handshaker_close(w, ep);
			return;
		}
		if (ts_handoff_mode_early(h.meta.mode))
			px_early_message(w, ep, &h);
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
	struct px_ep *ep;

	if (fd < 0)
		return; /* another worker took it, or a transient error */
	if (!peer_allowed(w, fd)) {
		close(fd);
		return;
	}
	ep = calloc(1, sizeof(*ep));
	if (!ep) {
		close(fd);
		return;
	}
	*ep = (struct px_ep){ .kind = PX_EP_HANDSHAKER, .fd = fd, .next_link = w->links };
	w->links = ep;
	px_count(&w->stats, PX_HANDSHAKERS, 1);
	px_ep_update(w, ep, EPOLLIN);
}

static void expire(struct px_list *l, uint64_t now)
{
	while (l->head && l->head->deadline_ms <= now)
		px_conn_timeout(l->head);
}

static int wait_ms(struct px_worker *w, uint64_t now)
{
	uint64_t next = now + PX_TICK_MS;

	if (w->connecting.head && w->connecting.head->deadline_ms < next)
		next = w->connecting.head->deadline_ms;
	if (w->idle.head && w->idle.head->deadline_ms < next)
		next = w->idle.head->deadline_ms;
	return next > now ? (int)(next - now) : 0;
}

static void dispatch(struct px_worker *w, struct px_ep *ep, uint32_t events)
{
	switch (ep->kind) {
	case PX_EP_LISTEN:
		listener_readable(w);
		break;
	case PX_EP_HANDSHAKER:
		handshaker_readable(w, ep);
		break;
	case PX_EP_CLIENT:
	case PX_EP_UPSTREAM:
		if (!((struct px_conn *)ep->owner)->closed)
			px_conn_event(ep->owner, ep, events);
		break;
	}
}

static void free_dead(struct px_worker *w)
{
	px_h2_reap(w);
	while (w->dead) {
		struct px_conn *c = w->dead;
		w->dead = c->next;
		px_gen_put(c->gen);
		free(c);
	}
}

static void close_all(struct px_worker *w)
{
	while (w->idle.head)
		px_conn_close(w->idle.head, PX_CLOSE_SHUTDOWN);
	while (w->connecting.head)
		px_conn_close(w->connecting.head, PX_CLOSE_SHUTDOWN);
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

	for (struct px_conn *c = w->idle.head; c; c = c->next)
		n += c->h2 != NULL;
	all = n ? calloc(n, sizeof(*all)) : NULL;
	if (!all)
		return;
	/* draining moves or closes a connection: walk a copy of the list */
	for (struct px_conn *c = w->idle.head; c && i < n; c = c->next)
		if (c->h2)
			all[i++] = c;
	for (i = 0; i < n; i++)
		if (!all[i]->closed)
			px_h2_drain(all[i]);
	free(all);
}

static void start_drain(struct px_worker *w)
{
	drain_h2(w);
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen.fd, NULL);
	for (struct px_ep *ep = w->links; ep; ep = ep->next_link)
		shutdown(ep->fd, SHUT_RD);
	w->draining = true;
	w->drain_deadline_ms = px_now_ms() + w->set->drain_timeout_ms;
}

static bool keep_running(struct px_worker *w)
{
	int run = __atomic_load_n(w->run, __ATOMIC_RELAXED);

	if (run == PX_STOP)
		return false;
	if (run == PX_DRAIN && !w->draining)
		start_drain(w);
	if (w->draining && ((w->conns == 0 && !w->links) || px_now_ms() >= w->drain_deadline_ms))
		return false;
	return true;
}

int px_worker_run(struct px_worker *w)
{
	struct epoll_event evs[PX_EVENTS_MAX];
	struct epoll_event lev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &w->listen };

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->listen.fd, &lev) < 0)
		return -errno;
	while (keep_running(w)) {
		int n = epoll_wait(w->epfd, evs, PX_EVENTS_MAX, wait_ms(w, px_now_ms()));
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++)
			dispatch(w, evs[i].data.ptr, evs[i].events);
		px_h2_flush(w);
		uint64_t now = px_now_ms();
		expire(&w->connecting, now);
		expire(&w->idle, now);
		px_early_expire(w, now);
		free_dead(w);
	}
	close_all(w);
	free_dead(w);
	while (w->links)
		handshaker_close(w, w->links);
	px_pipe_pool_drain(&w->pipes);
	close(w->epfd);
	return 0;
}
