/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A worker: one thread, one epoll loop, one SO_REUSEPORT socket per
 * listener, its own connections, hand-off link and counters. Nothing on the
 * handshake path is shared with other workers except read-only contexts.
 */
#ifndef TS_WORKER_H
#define TS_WORKER_H

#include <pthread.h>
#include <sys/socket.h>

#include "ev.h"
#include "handshaker.h"

#define TS_LISTENERS_MAX 16
/* Relay buffer per direction: one TLS record of plaintext. */
#define TS_RELAY_BUF 65536

/* What an epoll event points at: the kind of a worker's struct ev_io (its
 * obj is the worker or the connection). */
enum ts_ep_kind { TS_EP_LISTENER, TS_EP_CONN, TS_EP_PAIR, TS_EP_LINK };

enum ts_conn_state {
	TS_CS_WAIT_HELLO, /* accepted, waiting for the first bytes and the tag */
	TS_CS_HANDSHAKE,  /* OpenSSL handshake in progress */
	TS_CS_HANDOFF,    /* done, waiting for the proxy link */
	TS_CS_RELAY,      /* handed off; relaying TLS <-> socketpair */
	TS_CS_DEAD,       /* closed; freed after the current batch of events */
};

struct ts_relay {
	uint8_t up[TS_RELAY_BUF];   /* proxy -> client, waiting for SSL_write */
	uint8_t down[TS_RELAY_BUF]; /* client -> proxy, waiting for write() */
	size_t up_len, up_off, down_len, down_off;
	bool client_eof, proxy_eof, pair_shut, shut_sent, tls_want_write;
};

struct ts_worker;

struct ts_conn {
	struct ev_entry link; /* in the worker's list for its state, with its deadline */
	struct ev_io ep;      /* the TCP socket */
	struct ev_io pair;    /* relay: our socketpair end */
	enum ts_conn_state state;
	struct ts_worker *w;
	struct ts_gen *gen;
	SSL *ssl;
	int proxy_fd; /* relay: the end handed to the proxy until sent */
	uint64_t accepted_us; /* for the handshake time histogram */
	uint64_t accepted_ms;
	uint32_t source;      /* bucket of the client address (ts_source_*), counted */
	bool in_hellos;       /* on w->hellos: no ClientHello decided yet */
	struct ts_tag tag;
	int tag_err;
	int hellos;  /* ClientHello callback calls (2 after an HRR) */
	bool reject; /* decided reject: close without a TLS byte */
	bool decided;
	struct ts_decision d;
	struct ts_addr peer, local;
	uint8_t *tlv;
	long tlv_len;
	struct ts_relay *relay;
};

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
};

/* The connection of a list entry: `link` is the first member of ts_conn. */
static inline struct ts_conn *ts_conn_of(struct ev_entry *e)
{
	return (struct ts_conn *)e;
}

/* The first connection of a list, NULL when it is empty. */
static inline struct ts_conn *ts_conn_first(const struct ev_list *l)
{
	return ts_conn_of(ev_list_first(l));
}

/* worker.c */
int ts_worker_start(struct ts_worker *w);
void ts_worker_set_events(struct ts_worker *w, struct ev_io *ep, uint32_t events);
void ts_worker_accept(struct ts_worker *w, int lfd);
void ts_worker_resume_accepting(struct ts_worker *w);

/* conn.c */
/* Handshakes in flight per client address, shared by all workers: a table
 * of counters indexed by a keyed hash of the address (an IPv6 client by
 * its /64). Returns false, counting nothing, when the bucket is at limit. */
bool ts_source_take(const struct sockaddr_storage *ss, unsigned limit, uint32_t *bucket);
void ts_source_put(uint32_t bucket);
void ts_conn_accepted(struct ts_worker *w, int fd, uint32_t source);
/* At the in-flight bound: closes the oldest connection that has sent
 * nothing since accept. Returns false when there is none. */
bool ts_conn_shed_idle(struct ts_worker *w);
void ts_conn_event(struct ts_conn *c, uint32_t events);
void ts_conn_close(struct ts_conn *c);
/* Expiry callbacks of w->hellos and w->handshakes (arg: the worker). */
void ts_conn_hello_timeout(struct ev_entry *e, void *w);
void ts_conn_handshake_timeout(struct ev_entry *e, void *w);
void ts_conn_handed_off(struct ts_conn *c);
void ts_conn_reap(struct ts_worker *w);

/* handoff_link.c */
void ts_link_queue(struct ts_conn *c);
void ts_link_flush(struct ts_worker *w);
void ts_link_event(struct ts_worker *w, uint32_t events);
/* Expiry callback of w->handoffs; the link_timer's callback. */
void ts_link_handoff_timeout(struct ev_entry *e, void *w);
void ts_link_retry(struct ev_timer *t, void *w);
void ts_link_close(struct ts_worker *w);

/* relay.c */
int ts_relay_start(struct ts_conn *c);
void ts_relay_event(struct ts_conn *c);
/* Expiry callback of w->relays. */
void ts_relay_idle_timeout(struct ev_entry *e, void *w);

#endif /* TS_WORKER_H */
