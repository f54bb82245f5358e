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

#include "handshaker.h"

#define TS_LISTENERS_MAX 16
/* Relay buffer per direction: client → proxy gathers up to sixteen TLS
 * records of plaintext into one write (one wake-up of the proxy per 256
 * KiB: upload wake-ups 29 → 15 per MB). Held only while bytes are in
 * flight: an idle relay holds none. */
#define TS_RELAY_BUF 262144
/* Drained relay buffers a worker keeps for the next one instead of
 * freeing them: enough for the relays moving data at once, at most 2 MiB. */
#define TS_RELAY_POOL 8

struct ts_list {
	struct ts_list *prev, *next;
};

static inline void ts_list_init(struct ts_list *l)
{
	l->prev = l->next = l;
}

static inline void ts_list_del(struct ts_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

static inline void ts_list_add_tail(struct ts_list *head, struct ts_list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline int ts_list_empty(const struct ts_list *l)
{
	return l->next == l;
}

enum ts_ep_kind { TS_EP_LISTENER, TS_EP_CONN, TS_EP_PAIR, TS_EP_LINK, TS_EP_TIMER, TS_EP_WAKE };

/* What an epoll event points at. */
struct ts_ep {
	enum ts_ep_kind kind;
	void *obj;
	int fd;
	uint32_t events; /* current interest */
};

enum ts_conn_state {
	TS_CS_WAIT_HELLO, /* accepted, waiting for the first bytes and the tag */
	TS_CS_HANDSHAKE,  /* OpenSSL handshake in progress */
	TS_CS_HANDOFF,    /* done, waiting for the proxy link */
	TS_CS_RELAY,      /* handed off; relaying TLS <-> socketpair */
	TS_CS_DEAD,       /* closed; freed after the current batch of events */
};

struct ts_relay {
	uint8_t *up;   /* proxy -> client, waiting for SSL_write; NULL when empty */
	uint8_t *down; /* client -> proxy, waiting for write(); NULL when empty */
	size_t up_len, up_off, down_len, down_off;
	bool client_eof, proxy_eof, pair_shut, shut_sent, tls_want_write;
};

struct ts_worker;

struct ts_conn {
	struct ts_list link; /* in the worker's list for its state */
	struct ts_ep ep;     /* the TCP socket */
	struct ts_ep pair;   /* relay: our socketpair end */
	enum ts_conn_state state;
	struct ts_worker *w;
	struct ts_gen *gen;
	SSL *ssl;
	int proxy_fd; /* relay: the end handed to the proxy until sent */
	uint64_t deadline_ms;
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
	bool early; /* the proxy was told this connection will follow */
};

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
	uint8_t *relay_pool[TS_RELAY_POOL]; /* drained TS_RELAY_BUF buffers */
	unsigned relay_pooled;
};

/* The first connection of a list: `link` is the first member of ts_conn. */
static inline struct ts_conn *ts_conn_first(const struct ts_list *head)
{
	return (struct ts_conn *)head->next;
}

/* worker.c */
int ts_worker_start(struct ts_worker *w);
void ts_worker_set_events(struct ts_worker *w, struct ts_ep *ep, uint32_t events);
void ts_worker_accept(struct ts_worker *w, int lfd);
void ts_worker_resume_accepting(struct ts_worker *w);

/* conn.c */
/* Handshakes in flight per client address, shared by all workers: a table
 * of counters indexed by a keyed hash of the address (an IPv6 client by
 * its /64). Returns false, counting nothing, when the bucket is at limit. */
bool ts_source_take(const struct sockaddr_storage *ss, unsigned limit, uint32_t *bucket);
void ts_source_put(uint32_t bucket);
/* peer: the client's address as accept4() gave it. */
void ts_conn_accepted(struct ts_worker *w, int fd, uint32_t source,
		      const struct sockaddr_storage *peer);
/* At the in-flight bound: closes the oldest connection that has sent
 * nothing since accept. Returns false when there is none. */
bool ts_conn_shed_idle(struct ts_worker *w);
void ts_conn_event(struct ts_conn *c, uint32_t events);
void ts_conn_close(struct ts_conn *c);
void ts_conn_timeouts(struct ts_worker *w, uint64_t now);
void ts_conn_handed_off(struct ts_conn *c);
void ts_conn_reap(struct ts_worker *w);

/* handoff_link.c */
void ts_link_queue(struct ts_conn *c);
void ts_link_flush(struct ts_worker *w);
void ts_link_event(struct ts_worker *w, uint32_t events);
void ts_link_timeouts(struct ts_worker *w, uint64_t now);
void ts_link_close(struct ts_worker *w);
/* Early connect (handoff.early_connect): tells the proxy that the
 * decided connection c will follow (TS_MODE_EARLY), or that it will not
 * (TS_MODE_EARLY_CANCEL, only after an EARLY). Best effort. */
void ts_link_early(struct ts_conn *c, enum ts_handoff_mode mode);

/* relay.c */
int ts_relay_start(struct ts_conn *c);
/* An event on ep, the client's socket or the pair. */
void ts_relay_event(struct ts_conn *c, const struct ts_ep *ep);
void ts_relay_timeouts(struct ts_worker *w, uint64_t now);
void ts_relay_free(struct ts_worker *w, struct ts_relay *r);

#endif /* TS_WORKER_H */
