// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* lib/ev.c: deadline order and expiry with explicit times, then the loop
 * itself: timeouts from the earliest deadline, a wake and a stop from
 * another thread, ev_set's epoll changes, a signal through the signalfd. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock.h"
#include "ev.h"

/* An entry that knows its name, and a record of what expired. */
struct item {
	struct ev_entry e; /* first: an entry is its item */
	char name;
};

struct expired {
	char names[16];
	unsigned n;
};

static void record(struct ev_entry *e, void *arg)
{
	struct expired *x = arg;

	x->names[x->n++] = ((struct item *)e)->name;
}

/* The names on l, head first. */
static const char *order(const struct ev_list *l, char *buf)
{
	const struct ev_entry *e;
	size_t n = 0;

	for (e = ev_list_first(l); e; e = ev_list_next(e))
		buf[n++] = ((const struct item *)e)->name;
	buf[n] = '\0';
	return buf;
}

static void test_deadline_order(void **state)
{
	struct item a = { .name = 'a' }, b = { .name = 'b' }, c = { .name = 'c' },
		    d = { .name = 'd' };
	struct ev_list l;
	char buf[8];

	(void)state;
	ev_list_init(&l, NULL, NULL);
	assert_true(ev_list_empty(&l));
	assert_null(ev_list_first(&l));
	ev_list_add(&l, &a.e, 300);
	ev_list_add(&l, &b.e, 100);
	ev_list_add(&l, &c.e, 200);
	ev_list_add(&l, &d.e, 100); /* a tie goes after the earlier one */
	assert_string_equal(order(&l, buf), "bdca");
	/* a touch moves an entry to its new place */
	ev_list_add(&l, &b.e, 250);
	assert_string_equal(order(&l, buf), "dcba");
	assert_int_equal(b.e.deadline_ms, 250);
	ev_list_del(&c.e);
	assert_null(c.e.list);
	ev_list_del(&c.e); /* off every list: nothing happens */
	assert_string_equal(order(&l, buf), "dba");
	assert_ptr_equal(a.e.list, &l);
}

static void test_expire_callback(void **state)
{
	struct item it[4] = { { .name = 'a' }, { .name = 'b' }, { .name = 'c' }, { .name = 'd' } };
	struct expired x = { .n = 0 };
	struct ev_list l;
	char buf[8];
	int i;

	(void)state;
	ev_list_init(&l, record, &x);
	for (i = 0; i < 4; i++)
		ev_list_add(&l, &it[i].e, 1000 + 10 * (uint64_t)i);
	assert_int_equal(ev_list_expire(&l, 999), 0);
	assert_int_equal(x.n, 0);
	/* due means deadline <= now */
	assert_int_equal(ev_list_expire(&l, 1010), 2);
	assert_int_equal(x.n, 2);
	assert_memory_equal(x.names, "ab", 2);
	assert_null(it[0].e.list); /* off the list before the callback */
	assert_string_equal(order(&l, buf), "cd");
	assert_int_equal(ev_list_expire(&l, 5000), 2);
	assert_memory_equal(x.names, "abcd", 4);
	assert_true(ev_list_empty(&l));
}

/* Entries added with a 1000 ms timeout, then a reload to 100 ms: the new
 * entries go before the old ones whose deadline is later, and expire
 * first. */
static void test_shorter_timeout_reorders(void **state)
{
	struct item old[3] = { { .name = 'a' }, { .name = 'b' }, { .name = 'c' } };
	struct item young[2] = { { .name = 'x' }, { .name = 'y' } };
	struct expired x = { .n = 0 };
	struct ev_list l;
	char buf[8];

	(void)state;
	ev_list_init(&l, record, &x);
	ev_list_add(&l, &old[0].e, 0 + 1000);
	ev_list_add(&l, &old[1].e, 150 + 1000);
	ev_list_add(&l, &old[2].e, 990 + 1000);
	ev_list_add(&l, &young[0].e, 1000 + 100); /* after a, before b and c */
	ev_list_add(&l, &young[1].e, 1010 + 100);
	assert_string_equal(order(&l, buf), "axybc");
	assert_int_equal(ev_list_expire(&l, 1100), 2);
	assert_memory_equal(x.names, "ax", 2);
	assert_int_equal(ev_list_expire(&l, 1110), 1);
	assert_int_equal(ev_list_expire(&l, 1149), 0);
	assert_int_equal(ev_list_expire(&l, 1990), 2);
	assert_memory_equal(x.names, "axybc", 5);
}

static void nothing(struct ev_loop *l, struct ev_io *io, uint32_t events, void *arg)
{
	(void)l, (void)io, (void)events, (void)arg;
}

static void count_fire(struct ev_timer *t, void *arg)
{
	(void)t;
	++*(unsigned *)arg;
}

static void test_timeout_from_earliest(void **state)
{
	struct ev_loop l;
	struct ev_timer t;
	struct item a = { .name = 'a' };
	struct ev_list list;
	unsigned fired = 0;
	uint64_t t0;
	int n;

	(void)state;
	assert_int_equal(ev_loop_init(&l), 0);
	assert_int_equal(ev_timeout_ms(&l, 1000), -1); /* nothing: sleep until an event */
	ev_list_init(&list, NULL, NULL);
	ev_watch(&l, &list);
	ev_timer_init(&t, count_fire, &fired);
	ev_timer_at(&l, &t, 1050);
	assert_true(ev_timer_armed(&t));
	assert_int_equal(ev_timeout_ms(&l, 1000), 50);
	ev_list_add(&list, &a.e, 1020);
	assert_int_equal(ev_timeout_ms(&l, 1000), 20);
	assert_int_equal(ev_timeout_ms(&l, 1020), 0);
	assert_int_equal(ev_timeout_ms(&l, 2000), 0);
	ev_list_del(&a.e);
	assert_int_equal(ev_timeout_ms(&l, 1000), 50);

	/* a real wait: the timer 30 ms ahead ends it, no event, one firing */
	t0 = ts_now_ms();
	ev_timer_at(&l, &t, t0 + 30);
	n = ev_wait(&l, nothing, NULL);
	assert_int_equal(n, 0);
	assert_true(ev_now(&l) >= t0 + 30);
	ev_expire(&l);
	assert_int_equal(fired, 1);
	assert_false(ev_timer_armed(&t));
	assert_int_equal(ev_timeout_ms(&l, ev_now(&l)), -1);

	/* a periodic timer keeps its period from the last deadline... */
	l.now_ms = 5010;
	t.e.deadline_ms = 5000;
	ev_timer_again(&l, &t, 1000);
	assert_int_equal(t.e.deadline_ms, 6000);
	/* ...unless the loop fell behind by more: then from now */
	l.now_ms = 7500;
	ev_timer_again(&l, &t, 1000);
	assert_int_equal(t.e.deadline_ms, 8500);
	ev_timer_stop(&t);
	assert_false(ev_timer_armed(&t));
	ev_loop_close(&l);
}

struct seen {
	unsigned wakes, others;
	uint32_t events;
	struct ev_io *io;
};

static void note(struct ev_loop *l, struct ev_io *io, uint32_t events, void *arg)
{
	struct seen *s = arg;

	(void)l;
	if (io->kind == EV_KIND_WAKE) {
		s->wakes++;
	} else {
		s->others++;
		s->io = io;
		s->events = events;
	}
}

static void *waker(void *arg)
{
	const struct timespec pause = { .tv_nsec = 50 * 1000000L };

	nanosleep(&pause, NULL);
	ev_wake(arg);
	return NULL;
}

static void *stopper(void *arg)
{
	ev_stop(arg, 2);
	return NULL;
}

static void test_wake_from_thread(void **state)
{
	struct ev_loop l;
	struct ev_timer t;
	struct seen s = { 0 };
	unsigned fired = 0;
	pthread_t th;

	(void)state;
	assert_int_equal(ev_loop_init(&l), 0);
	assert_int_equal(ev_stopped(&l), 0);
	/* no deadline: only the wake ends the wait */
	assert_int_equal(pthread_create(&th, NULL, waker, &l), 0);
	assert_int_equal(ev_wait(&l, note, &s), 1);
	pthread_join(th, NULL);
	assert_int_equal(s.wakes, 1);
	assert_int_equal(s.others, 0);
	assert_int_equal(ev_stopped(&l), 0);
	/* the eventfd was read: the next wait sleeps until its deadline */
	ev_timer_init(&t, count_fire, &fired);
	ev_timer_at(&l, &t, ts_now_ms() + 20);
	assert_int_equal(ev_wait(&l, note, &s), 0);
	assert_int_equal(s.wakes, 1);
	/* a stop is a wake that leaves its reason */
	assert_int_equal(pthread_create(&th, NULL, stopper, &l), 0);
	pthread_join(th, NULL);
	assert_int_equal(ev_wait(&l, note, &s), 1);
	assert_int_equal(s.wakes, 2);
	assert_int_equal(ev_stopped(&l), 2);
	ev_loop_close(&l);
}

static void test_set_events_idempotent(void **state)
{
	struct epoll_event probe = { .events = EPOLLIN };
	struct ev_loop l;
	struct seen s = { 0 };
	struct ev_io io, none = { .fd = -1 };
	int sv[2];

	(void)state;
	assert_int_equal(ev_loop_init(&l), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	io = (struct ev_io){ .fd = sv[0], .kind = 7 };
	assert_int_equal(ev_set(&l, &io, EPOLLIN), 0);
	assert_int_equal(io.events, EPOLLIN);
	/* the same interest again: no second EPOLL_CTL_ADD (it would fail EEXIST) */
	assert_int_equal(ev_set(&l, &io, EPOLLIN), 0);
	assert_int_equal(epoll_ctl(l.epfd, EPOLL_CTL_ADD, sv[0], &probe), -1);
	assert_int_equal(errno, EEXIST);
	/* nothing to read: only the writable interest, once set, reports */
	assert_int_equal(ev_set(&l, &io, EPOLLIN | EPOLLOUT), 0);
	assert_int_equal(ev_wait(&l, note, &s), 1);
	assert_int_equal(s.others, 1);
	assert_ptr_equal(s.io, &io);
	assert_int_equal(s.events, EPOLLOUT);
	/* removal, once: a second removal does not reach epoll (ENOENT) */
	assert_int_equal(ev_set(&l, &io, 0), 0);
	assert_int_equal(io.events, 0);
	assert_int_equal(ev_set(&l, &io, 0), 0);
	assert_int_equal(epoll_ctl(l.epfd, EPOLL_CTL_DEL, sv[0], NULL), -1);
	assert_int_equal(errno, ENOENT);
	/* no descriptor: nothing registered, nothing changed */
	assert_int_equal(ev_set(&l, &none, EPOLLIN), 0);
	assert_int_equal(none.events, 0);
	/* a failed add leaves the interest unregistered, so it is tried again */
	close(sv[0]);
	assert_int_equal(ev_set(&l, &io, EPOLLIN), -EBADF);
	assert_int_equal(io.events, 0);
	close(sv[1]);
	ev_loop_close(&l);
}

static void test_signalfd(void **state)
{
	struct ev_loop l;
	struct ev_io sig;
	struct seen s = { 0 };
	sigset_t set;

	(void)state;
	assert_int_equal(ev_loop_init(&l), 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	assert_int_equal(ev_signal_open(&l, &sig, &set, 3), 0);
	assert_int_equal(ev_signal_next(&sig), 0); /* none pending */
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(ev_wait(&l, note, &s), 1);
	assert_ptr_equal(s.io, &sig);
	assert_int_equal(s.io->kind, 3);
	assert_int_equal(ev_signal_next(&sig), SIGUSR1);
	assert_int_equal(ev_signal_next(&sig), 0);
	close(sig.fd);
	ev_loop_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline_order),
		cmocka_unit_test(test_expire_callback),
		cmocka_unit_test(test_shorter_timeout_reorders),
		cmocka_unit_test(test_timeout_from_earliest),
		cmocka_unit_test(test_wake_from_thread),
		cmocka_unit_test(test_set_events_idempotent),
		cmocka_unit_test(test_signalfd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
