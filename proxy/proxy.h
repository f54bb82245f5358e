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
#include <stddef.h>
#include <stdint.h>

#include "client_io.h"
#include "clock.h"
#include "config.h"
#include "ev.h"
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

/* What an epoll event points at: the kind of a worker's struct ev_io; its
 * obj is the struct px_conn for client/upstream, the handshaker link for
 * PX_EP_HANDSHAKER. */
enum px_ep_kind { PX_EP_LISTEN, PX_EP_HANDSHAKER, PX_EP_CLIENT, PX_EP_UPSTREAM };

enum px_conn_state { PX_CONNECTING, PX_RELAYING };

struct px_conn {
	struct ev_entry timer; /* on the worker's connecting or idle list */
	struct px_worker *w;
	struct ev_io client, upstream;
	struct px_client_io cio; /* the client's bytes: client_io.h (fd: client.fd) */
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
	struct px_conn *next_dead; /* on the worker's dead list once closed */
	uint64_t start_us; /* hand-off received */
	struct px_connlog *log; /* logging.connections, else NULL */
};

/* What the main thread asks of the workers (ev_stop's how). */
enum px_run {
	PX_RUN = 0,
	PX_DRAIN, /* take no new handshaker links, finish what is open */
	PX_STOP,  /* close everything now */
};

struct px_worker {
	int id;
	struct ev_loop loop; /* stopped with PX_DRAIN or PX_STOP */
	struct ev_io listen;
	const struct px_settings *set;
	struct px_stats stats;
	struct ev_list connecting, idle; /* deadline lists of connections */
	struct px_conn *dead; /* closed in this batch, linked by next */
	struct h2_stream *h2_dead; /* HTTP/2 streams closed in this batch */
	struct px_conn *h2_flush;  /* HTTP/2 connections with frames to send */
	struct px_pipe_pool pipes;
	unsigned long conns;
	struct px_link *links; /* handshaker connections of this worker */
	struct px_early *early; /* upstreams opened before their hand-off */
	unsigned nearly;
	bool draining;
	uint64_t drain_deadline_ms;
	struct ev_timer drain_timer; /* wakes the loop at drain_deadline_ms */
	struct ev_timer early_timer; /* the next early connect to expire */
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

/* Registers ep with its wanted events (0: leaves epoll). A failed add
 * leaves ep unregistered: the next update tries again. */
static inline void px_ep_update(struct px_worker *w, struct ev_io *ep, uint32_t events)
{
	ev_set(&w->loop, ep, events);
}

/* The close reason of a failed write to the client: once the client ended
 * its input, its reset is how it closes (tagshaked's relay counts it so
 * too), else an error. */
static inline enum px_counter px_client_write_failed(const struct px_conn *c)
{
	return px_cio_input_ended(&c->cio) ? PX_CLOSE_DONE : PX_CLOSE_CLIENT_ERROR;
}

/* Takes over a received hand-off (its fd; the struct is released). */
void px_conn_start(struct px_worker *w, struct ts_handoff *h);
void px_conn_event(struct px_conn *c, const struct ev_io *ep, uint32_t events);
/* Expiry callback of the worker's connecting and idle lists. */
void px_conn_timeout(struct ev_entry *e, void *w);
void px_conn_close(struct px_conn *c, enum px_counter reason);

static inline struct px_conn *px_conn_of(struct ev_entry *e)
{
	return e ? (struct px_conn *)((char *)e - offsetof(struct px_conn, timer)) : NULL;
}

/* Takes c off its deadline list. */
static inline void px_list_remove(struct px_conn *c)
{
	ev_list_del(&c->timer);
}

/* Puts c on l (connecting or idle) in deadline order. */
static inline void px_list_append(struct ev_list *l, struct px_conn *c, uint64_t deadline_ms)
{
	ev_list_add(l, &c->timer, deadline_ms);
}

/* Before the worker's thread starts: its loop, which the main thread
 * stops; ev_loop_close(&w->loop) after the thread ended. */
int px_worker_init(struct px_worker *w);
int px_worker_run(struct px_worker *w);

#endif /* TS_PROXY_H */
