// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "ev.h"

#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "clock.h"

/* Events taken from epoll per wait. */
#define EV_BATCH 64

/* ---- deadline lists ---- */

void ev_list_init(struct ev_list *l, ev_expire_fn *expire, void *arg)
{
	*l = (struct ev_list){ .expire = expire, .arg = arg };
	l->head.next = l->head.prev = &l->head;
}

void ev_list_del(struct ev_entry *e)
{
	if (!e->list)
		return;
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
	e->list = NULL;
}

void ev_list_add(struct ev_list *l, struct ev_entry *e, uint64_t deadline_ms)
{
	struct ev_entry *at;

	ev_list_del(e);
	e->deadline_ms = deadline_ms;
	/* from the tail: one step when the timeouts are equal */
	for (at = l->head.prev; at != &l->head && at->deadline_ms > deadline_ms; at = at->prev)
		;
	e->prev = at;
	e->next = at->next;
	at->next->prev = e;
	at->next = e;
	e->list = l;
}

struct ev_entry *ev_list_first(const struct ev_list *l)
{
	return ev_list_empty(l) ? NULL : l->head.next;
}

struct ev_entry *ev_list_next(const struct ev_entry *e)
{
	return e->next == &e->list->head ? NULL : e->next;
}

unsigned ev_list_expire(struct ev_list *l, uint64_t now)
{
	struct ev_entry *e;
	unsigned n = 0;

	while ((e = ev_list_first(l)) && e->deadline_ms <= now) {
		ev_list_del(e);
		l->expire(e, l->arg);
		n++;
	}
	return n;
}

/* ---- timers ---- */

static void timer_expire(struct ev_entry *e, void *arg)
{
	struct ev_timer *t = (struct ev_timer *)e;

	(void)arg;
	t->fn(t, t->arg);
}

void ev_timer_init(struct ev_timer *t, ev_timer_fn *fn, void *arg)
{
	*t = (struct ev_timer){ .fn = fn, .arg = arg };
}

void ev_timer_at(struct ev_loop *l, struct ev_timer *t, uint64_t deadline_ms)
{
	ev_list_add(&l->timers, &t->e, deadline_ms);
}

void ev_timer_again(struct ev_loop *l, struct ev_timer *t, uint64_t period_ms)
{
	uint64_t next = t->e.deadline_ms + period_ms;

	ev_timer_at(l, t, next > l->now_ms ? next : l->now_ms + period_ms);
}

void ev_timer_stop(struct ev_timer *t)
{
	ev_list_del(&t->e);
}

/* ---- the loop ---- */

int ev_loop_init(struct ev_loop *l)
{
	int err;

	*l = (struct ev_loop){ .epfd = -1, .wake = { .fd = -1, .kind = EV_KIND_WAKE } };
	ev_list_init(&l->timers, timer_expire, NULL);
	l->now_ms = ts_now_ms();
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wake.fd < 0) {
		err = -errno;
		ev_loop_close(l);
		return err;
	}
	err = ev_set(l, &l->wake, EPOLLIN);
	if (err)
		ev_loop_close(l);
	return err;
}

void ev_loop_close(struct ev_loop *l)
{
	if (l->wake.fd >= 0)
		close(l->wake.fd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->wake.fd = l->epfd = -1;
	l->wake.events = 0;
}

int ev_set(struct ev_loop *l, struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };
	int op;

	if (io->fd < 0 || io->events == events)
		return 0;
	op = io->events == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
	if (epoll_ctl(l->epfd, op, io->fd, &ev) < 0) {
		int err = -errno;

		if (op == EPOLL_CTL_DEL)
			io->events = 0;
		return err;
	}
	io->events = events;
	return 0;
}

void ev_watch(struct ev_loop *l, struct ev_list *list)
{
	list->next_watched = l->watched;
	l->watched = list;
}

static uint64_t earliest(const struct ev_list *list, uint64_t e)
{
	const struct ev_entry *first = ev_list_first(list);

	return first && first->deadline_ms < e ? first->deadline_ms : e;
}

int ev_timeout_ms(const struct ev_loop *l, uint64_t now)
{
	uint64_t e = earliest(&l->timers, UINT64_MAX);
	const struct ev_list *list;

	for (list = l->watched; list; list = list->next_watched)
		e = earliest(list, e);
	if (e == UINT64_MAX)
		return -1;
	if (e <= now)
		return 0;
	return e - now > INT32_MAX ? INT32_MAX : (int)(e - now);
}

int ev_wait(struct ev_loop *l, ev_dispatch_fn *fn, void *arg)
{
	struct epoll_event evs[EV_BATCH];
	int n, i;

	n = epoll_wait(l->epfd, evs, EV_BATCH, ev_timeout_ms(l, ts_now_ms()));
	l->now_ms = ts_now_ms();
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		struct ev_io *io = evs[i].data.ptr;

		if (io == &l->wake) {
			uint64_t v;

			/* EAGAIN: another event of this batch read it */
			if (read(io->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				continue;
		}
		fn(l, io, evs[i].events, arg);
	}
	return n;
}

void ev_expire(struct ev_loop *l)
{
	struct ev_list *list;

	l->now_ms = ts_now_ms();
	for (list = l->watched; list; list = list->next_watched)
		ev_list_expire(list, l->now_ms);
	ev_list_expire(&l->timers, l->now_ms);
}

int ev_wake(struct ev_loop *l)
{
	uint64_t one = 1;

	return write(l->wake.fd, &one, sizeof(one)) < 0 ? -errno : 0;
}

int ev_stop(struct ev_loop *l, int how)
{
	__atomic_store_n(&l->stop, how, __ATOMIC_RELEASE);
	return ev_wake(l);
}

/* ---- signals ---- */

int ev_signal_open(struct ev_loop *l, struct ev_io *io, const sigset_t *set, int kind)
{
	int err = pthread_sigmask(SIG_BLOCK, set, NULL);

	*io = (struct ev_io){ .fd = -1, .kind = kind };
	if (err)
		return -err;
	io->fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (io->fd < 0)
		return -errno;
	return ev_set(l, io, EPOLLIN);
}

int ev_signal_next(struct ev_io *io)
{
	struct signalfd_siginfo si;
	ssize_t n = read(io->fd, &si, sizeof(si));

	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return n == sizeof(si) ? (int)si.ssi_signo : -EIO;
}
