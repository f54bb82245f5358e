/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A worker: one thread, one event loop, one SO_REUSEPORT socket per
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
#include "ev.h"
#include "relay.h"
#include "stats.h"

#define TS_LISTENERS_MAX 16

struct ts_gen;

struct ts_worker {
	int id;
	pthread_t thread;
	/* its wake: a new generation; its stop (ev_stop): drain then exit */
	struct ev_loop loop;
	struct ev_io listeners[TS_LISTENERS_MAX];
	int nlisteners;
	bool accepting;
	bool accept_retry; /* accept failed for lack of resources: paused until accept_timer */
	struct ev_timer accept_timer;
	struct ts_gen *gen;
	struct ts_gen *next_gen; /* atomic: handed over by the main thread */
	bool ktls;
	struct ts_maps maps;
	struct ts_hs_stats stats;
	/* deadline lists, expired by the loop */
	struct ev_list hellos;     /* accepted, not decided yet: timeouts.client_hello
				    * from accept (= accept order; shed from the head) */
	struct ev_list handshakes; /* decided, handshaking: timeouts.handshake from accept */
	struct ev_list handoffs;   /* waiting for the proxy link: timeouts.handoff */
	struct ev_list relays;     /* LRU by activity: timeouts.idle */
	struct ev_list dead;       /* closed during this batch of events (no deadline) */
	uint64_t drain_deadline_ms;
	struct ev_timer drain_timer; /* wakes the loop at drain_deadline_ms */
	unsigned inflight;
	struct ev_io link; /* SOCK_SEQPACKET to the proxy, fd -1 when down */
	uint64_t link_retry_ms;
	struct ev_timer link_timer; /* reconnects while hand-offs wait */
	uint8_t *relay_pool[TS_RELAY_POOL]; /* drained TS_RELAY_BUF buffers */
	unsigned relay_pooled;
};

/* worker.c */
int ts_worker_start(struct ts_worker *w);
void ts_worker_accept(struct ts_worker *w, int lfd);

#endif /* TS_WORKER_H */
