/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One connection from accept to hand-off or the end of its relay. conn.c is
 * its state machine; the hand-off link (handoff_link.c) and the relay
 * (relay.c) report outcomes to it instead of calling into it. Closing is
 * conn_close.c's, below all of them.
 */
#ifndef TS_CONN_H
#define TS_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "decision.h"
#include "ep.h"
#include "ev.h"
#include "records.h"
#include "ts_handoff.h"

enum ts_conn_state {
	TS_CS_WAIT_HELLO, /* accepted, waiting for the first bytes and the tag */
	TS_CS_HANDSHAKE,  /* OpenSSL handshake in progress */
	TS_CS_HANDOFF,    /* done, waiting for the proxy link */
	TS_CS_RELAY,      /* handed off; relaying TLS <-> socketpair */
	TS_CS_DEAD,       /* closed; freed after the current batch of events */
};

struct ts_gen;
struct ts_relay;
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
	enum ts_handoff_mode mode; /* chosen at the hand-off */
	const char *mode_why;      /* why not records, when it was enabled */
	struct ts_records_tx records_tx;
	uint8_t *tlv; /* records mode: holds the secrets, wiped when freed */
	long tlv_len;
	struct ts_relay *relay;
	bool early; /* the proxy was told this connection will follow */
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

/* ---- the state machine (conn.c) ---- */

struct sockaddr_storage;
/* peer: the client's address as accept4() gave it. */
void ts_conn_accepted(struct ts_worker *w, int fd, uint32_t source,
		      const struct sockaddr_storage *peer);
/* At the in-flight bound: closes the oldest connection that has sent
 * nothing since accept. Returns false when there is none. */
bool ts_conn_shed_idle(struct ts_worker *w);
/* An event on the TCP socket; on the socketpair end (relay). */
void ts_conn_event(struct ts_conn *c, uint32_t events);
void ts_conn_pair_event(struct ts_conn *c);
/* Hands the waiting connections to the proxy, in order, as far as the
 * link takes them (connecting it when down and due). */
void ts_conn_flush_handoffs(struct ts_worker *w);
/* Expiry callbacks of w->hellos, w->handshakes, w->handoffs and w->relays
 * (arg: the worker): each state's timeout is a transition of this machine. */
void ts_conn_hello_timeout(struct ev_entry *e, void *w);
void ts_conn_handshake_timeout(struct ev_entry *e, void *w);
void ts_conn_handoff_timeout(struct ev_entry *e, void *w);
void ts_conn_relay_idle_timeout(struct ev_entry *e, void *w);

/* ---- closing (conn_close.c) ---- */

/* Closes now, in any state; frees after the batch of events, which may
 * still name it. */
void ts_conn_close(struct ts_conn *c);
/* Frees the connections closed during the batch. */
void ts_conn_reap(struct ts_worker *w);
/* Leaves the "handshakes in flight" set; may resume accepting. */
void ts_conn_end_handshake(struct ts_conn *c);

#endif /* TS_CONN_H */
