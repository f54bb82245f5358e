/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The event core of tagshaked and the proxy: one epoll loop per thread,
 * descriptors registered with the interest they want (ev_set changes epoll
 * only when the interest changes), deadline lists whose due heads expire
 * through a callback, one-shot timers, and an eventfd through which another
 * thread wakes the loop or asks it to stop. epoll_wait sleeps until the
 * earliest deadline: there is no periodic tick.
 */
#ifndef TS_EV_H
#define TS_EV_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct ev_loop;

/* The kind of the loop's own eventfd, as dispatch sees it; the daemons'
 * kinds are 0 and up. */
#define EV_KIND_WAKE (-1)

/* A descriptor in a loop. */
struct ev_io {
	int fd;          /* -1: none; ev_set does nothing */
	uint32_t events; /* registered interest; 0: not in epoll */
	int kind;        /* the owner's: what dispatch does with it */
	void *obj;       /* the owner's */
};

/* An entry of a deadline list, embedded in what it times. */
struct ev_entry {
	struct ev_entry *prev, *next;
	struct ev_list *list; /* NULL: on no list */
	uint64_t deadline_ms; /* CLOCK_MONOTONIC, lib/clock.h */
};

/* Called for an entry whose deadline has come, already off its list. It
 * may add the entry to a list again, with a deadline in the future. */
typedef void ev_expire_fn(struct ev_entry *e, void *arg);

/* Entries in deadline order, earliest first (ties in the order added). A
 * list whose entries share one timeout is appended to in O(1); after a
 * reload shortens the timeout, an entry walks back past those added with
 * the longer one, which leave within that timeout. A list without expire
 * callback and deadlines of 0 is a plain FIFO. */
struct ev_list {
	struct ev_entry head; /* sentinel */
	ev_expire_fn *expire;
	void *arg;
	struct ev_list *next_watched; /* the loop's lists */
};

struct ev_timer;
typedef void ev_timer_fn(struct ev_timer *t, void *arg);

/* A one-shot timer: armed with ev_timer_at, fires once in ev_expire. */
struct ev_timer {
	struct ev_entry e; /* first: the timer list's entries are timers */
	ev_timer_fn *fn;
	void *arg;
};

/* Called for each ready descriptor, the loop's eventfd included (kind
 * EV_KIND_WAKE, already read). */
typedef void ev_dispatch_fn(struct ev_loop *l, struct ev_io *io, uint32_t events, void *arg);

struct ev_loop {
	int epfd;
	struct ev_io wake;     /* eventfd: ev_wake, ev_stop */
	int stop;              /* atomic: 0, or what ev_stop asked */
	uint64_t now_ms;       /* ts_now_ms() when events or expiry were last taken */
	struct ev_list timers; /* ev_timer entries */
	struct ev_list *watched;
};

/* ---- deadline lists ---- */
void ev_list_init(struct ev_list *l, ev_expire_fn *expire, void *arg);
/* Puts e on l in deadline order, off the list it was on (if any). */
void ev_list_add(struct ev_list *l, struct ev_entry *e, uint64_t deadline_ms);
/* Takes e off its list; nothing when it is on none. */
void ev_list_del(struct ev_entry *e);
/* The earliest entry, NULL when l is empty. */
struct ev_entry *ev_list_first(const struct ev_list *l);
/* The entry after e on its list, NULL at the end. */
struct ev_entry *ev_list_next(const struct ev_entry *e);

static inline bool ev_list_empty(const struct ev_list *l)
{
	return l->head.next == &l->head;
}

/* Expires the entries due at now, earliest first; returns how many. */
unsigned ev_list_expire(struct ev_list *l, uint64_t now);

/* ---- the loop ---- */
int ev_loop_init(struct ev_loop *l);
void ev_loop_close(struct ev_loop *l);
/* Registers io with events: add, modify or remove (0), and only when they
 * differ from io->events. Returns 0 or -errno (io->events unchanged,
 * except that a failed removal still counts as removed). */
int ev_set(struct ev_loop *l, struct ev_io *io, uint32_t events);
/* l expires list's entries and wakes for its earliest deadline. */
void ev_watch(struct ev_loop *l, struct ev_list *list);

void ev_timer_init(struct ev_timer *t, ev_timer_fn *fn, void *arg);
/* Arms (or moves) t to fire at deadline_ms. */
void ev_timer_at(struct ev_loop *l, struct ev_timer *t, uint64_t deadline_ms);
/* From t's callback: fires again period_ms after the deadline it just had
 * (a steady period), or after now when the loop fell that far behind. */
void ev_timer_again(struct ev_loop *l, struct ev_timer *t, uint64_t period_ms);
void ev_timer_stop(struct ev_timer *t);

static inline bool ev_timer_armed(const struct ev_timer *t)
{
	return t->e.list != NULL;
}

/* ms until the earliest deadline of l from now, 0 when one is due, -1
 * when there is none. */
int ev_timeout_ms(const struct ev_loop *l, uint64_t now);
/* Waits for events until the earliest deadline and dispatches them.
 * Returns the number of events, or -errno (not for EINTR). */
int ev_wait(struct ev_loop *l, ev_dispatch_fn *fn, void *arg);
/* Expires what is due in the watched lists and the timers. */
void ev_expire(struct ev_loop *l);

static inline uint64_t ev_now(const struct ev_loop *l)
{
	return l->now_ms;
}

/* From any thread: the loop's next ev_wait returns with a wake event. */
int ev_wake(struct ev_loop *l);
/* From any thread: records how (non-zero; the daemon's meaning) and wakes. */
int ev_stop(struct ev_loop *l, int how);
/* 0, or the last ev_stop's how. */
static inline int ev_stopped(const struct ev_loop *l)
{
	return __atomic_load_n(&l->stop, __ATOMIC_ACQUIRE);
}

/* ---- signals ---- */
/* Blocks set in the calling thread (threads it starts later inherit the
 * mask) and opens a non-blocking signalfd for it in io, registered in l. */
int ev_signal_open(struct ev_loop *l, struct ev_io *io, const sigset_t *set, int kind);
/* The next pending signal of io: its number, 0 when none, or -errno. */
int ev_signal_next(struct ev_io *io);

#endif /* TS_EV_H */
