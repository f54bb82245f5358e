/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tagshake-proxy internals: a worker (one thread, one epoll loop) owns the
 * handshaker connections it accepted and every proxied connection that came
 * through them. Nothing is shared between workers but the read-only
 * configuration generations (proxy_gen.h).
 */
#ifndef TS_PROXY_H
#define TS_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "proxy_early.h"
#include "proxy_gen.h"
#include "proxy_relay.h"
#include "proxy_stats.h"
#include "proxy_upstream.h"
#include "ts_handoff.h"

/* Buffer of one copied direction: the default pipe size, so copy and
 * splice hold the same bytes in flight. */
#define PX_COPY_BUF 65536
/* Client bytes the http filter holds before parsing them. */
#define PX_HTTP_IN_BUF 16384
#define PX_CONNECT_TIMEOUT_MS 5000

struct px_settings {
	struct px_gens *gens; /* configurations by policy generation */
	unsigned connect_timeout_ms;
	unsigned idle_timeout_ms;
	unsigned drain_timeout_ms;
	bool splice;
};

/* What an epoll event points at. */
enum px_ep_kind { PX_EP_LISTEN, PX_EP_HANDSHAKER, PX_EP_CLIENT, PX_EP_UPSTREAM };

struct px_ep {
	enum px_ep_kind kind;
	struct px_ep *next_link; /* PX_EP_HANDSHAKER: the worker's links */
	int fd;
	uint32_t events;  /* registered interest */
	bool registered;
	void *owner;      /* struct px_conn for client/upstream */
};

/* A doubly linked list of connections ordered by deadline: every entry of
 * one list has the same timeout, so appending keeps the order. */
struct px_list {
	struct px_conn *head, *tail;
};

enum px_conn_state { PX_CONNECTING, PX_RELAYING };

struct px_conn {
	struct px_worker *w;
	struct px_ep client, upstream;
	enum px_conn_state state;
	struct px_gen *gen; /* the generation the handshaker decided with: held to the end */
	const struct ts_cfg_route *route;
	const struct ts_cfg_policy *policy; /* the SNI's policy, for Host checks */
	struct px_dir up, down;             /* client→upstream, upstream→client */
	struct ts_http_inject *http;
	struct px_h2 *h2; /* an HTTP/2 connection (ALPN h2), else NULL */
	struct px_conn *h2_flush_next; /* on the worker's h2_flush list */
	int local_status;    /* an HTTP answer the proxy gives itself */
	bool local_queued;
	bool client_eof;     /* input discarded after a local answer */
	bool closed;         /* freed after the current epoll batch */
	uint64_t deadline_ms;
	uint64_t start_us; /* hand-off received */
	struct px_connlog *log; /* logging.connections, else NULL */
	struct px_list *list;
	struct px_conn *prev, *next;
};

/* What the main thread asks of the workers. */
enum px_run {
	PX_RUN = 0,
	PX_DRAIN, /* take no new handshaker links, finish what is open */
	PX_STOP,  /* close everything now */
};

struct px_worker {
	int id;
	int epfd;
	struct px_ep listen;
	const struct px_settings *set;
	struct px_stats stats;
	struct px_list connecting, idle;
	struct px_conn *dead; /* closed in this batch, linked by next */
	struct h2_stream *h2_dead; /* HTTP/2 streams closed in this batch */
	struct px_conn *h2_flush;  /* HTTP/2 connections with frames to send */
	struct px_pipe_pool pipes;
	unsigned long conns;
	int *run;             /* enum px_run, written by the main thread */
	struct px_ep *links;  /* handshaker connections of this worker */
	struct px_early *early; /* upstreams opened before their hand-off */
	unsigned nearly;
	bool draining;
	uint64_t drain_deadline_ms;
};

/* The proxy's names for lib/clock.h's monotonic clock. */
static inline uint64_t px_now_ms(void)
{
	return ts_now_ms();
}

static inline uint64_t px_now_us(void)
{
	return ts_now_us();
}

/* Registers ep with its wanted events (0: leaves epoll). */
void px_ep_update(struct px_worker *w, struct px_ep *ep, uint32_t events);

/* Takes over a received hand-off (its fd; the struct is released). */
void px_conn_start(struct px_worker *w, struct ts_handoff *h);
void px_conn_event(struct px_conn *c, const struct px_ep *ep, uint32_t events);
void px_conn_timeout(struct px_conn *c);
void px_conn_close(struct px_conn *c, enum px_counter reason);

void px_list_remove(struct px_conn *c);
void px_list_append(struct px_list *l, struct px_conn *c, uint64_t deadline_ms);

int px_worker_run(struct px_worker *w);

#endif /* TS_PROXY_H */
