/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A worker: one thread, one epoll loop, one SO_REUSEPORT socket per
 * listener, its own connections, hand-off link and counters. Nothing on the
 * handshake path is shared with other workers except read-only contexts.
 */
#ifndef TS_WORKER_H
#define TS_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "decision.h"
#include "ep.h"
#include "list.h"
#include "stats.h"

#define TS_LISTENERS_MAX 16

struct ts_gen;

struct ts_worker {
	int id;
	pthread_t thread;
	int epfd;
	struct ts_ep wake;  /* eventfd: new generation or stop */
	struct ts_ep timer; /* timerfd: timeouts */
	struct ts_ep listeners[TS_LISTENERS_MAX];
	int nlisteners;
	bool accepting;
	bool accept_retry; /* accept failed for lack of resources: retry on the tick */
	struct ts_gen *gen;
	struct ts_gen *next_gen; /* atomic: handed over by the main thread */
	int stop;                /* atomic: 1 = drain then exit */
	bool ktls;
	struct ts_maps maps;
	struct ts_hs_stats stats;
	struct ts_list hellos;     /* accepted, not decided yet: FIFO = accept order
				    * (timeouts.client_hello; shed from the head) */
	struct ts_list handshakes; /* decided, handshaking: about deadline order */
	struct ts_list handoffs;   /* FIFO, same */
	struct ts_list relays;     /* LRU by activity */
	struct ts_list dead;       /* closed during this batch of events */
	uint64_t drain_deadline_ms;
	unsigned inflight;
	struct ts_ep link; /* SOCK_SEQPACKET to the proxy, fd -1 when down */
	uint64_t link_retry_ms;
};

/* worker.c */
int ts_worker_start(struct ts_worker *w);
void ts_worker_accept(struct ts_worker *w, int lfd);

#endif /* TS_WORKER_H */
