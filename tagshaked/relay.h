/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Relay mode (relay.c): plaintext between the client's TLS session and the
 * socketpair end the proxy holds. */
#ifndef TS_RELAY_H
#define TS_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Relay buffer per direction: one TLS record of plaintext. */
/* Relay buffer per direction: client → proxy gathers up to sixteen TLS
 * records of plaintext into one write (one wake-up of the proxy per 256
 * KiB: upload wake-ups 29 → 15 per MB). Held only while bytes are in
 * flight: an idle relay holds none. */
#define TS_RELAY_BUF 262144
/* Drained relay buffers a worker keeps for the next one instead of
 * freeing them: enough for the relays moving data at once, at most 2 MiB. */
#define TS_RELAY_POOL 8

struct ts_relay {
	uint8_t *up;   /* proxy -> client, waiting for SSL_write; NULL when empty */
	uint8_t *down; /* client -> proxy, waiting for write(); NULL when empty */
	size_t up_len, up_off, down_len, down_off;
	bool client_eof, proxy_eof, pair_shut, shut_sent, tls_want_write;
};

/* What an event left of the relay; the connection state machine counts and
 * closes on the last two. */
enum ts_relay_result {
	TS_RELAY_OPEN,   /* waiting for more */
	TS_RELAY_CLOSED, /* both sides ended, or the client reset after its EOF */
	TS_RELAY_ERROR,  /* a read or write failed, or no memory to start */
};

/* The proxy owns the idle policy: it can end a connection in its protocol
 * (HTTP/2 GOAWAY) before it closes. The relay's own idle timer is a
 * backstop for a proxy that never closes, so it fires this much later. */
#define TS_RELAY_IDLE_GRACE_MS 1000

struct ev_entry;
struct ev_io;
struct ts_conn;
struct ts_worker;

/* When a relay that is idle from now_ms on times out. */
static inline uint64_t ts_relay_idle_deadline(uint64_t now_ms, unsigned idle_timeout_ms)
{
	return now_ms + idle_timeout_ms + TS_RELAY_IDLE_GRACE_MS;
}

enum ts_relay_result ts_relay_start(struct ts_conn *c);
/* An event on io, the client's socket or the pair. */
enum ts_relay_result ts_relay_event(struct ts_conn *c, const struct ev_io *io);
/* Frees r and gives its buffers back to w's pool. */
void ts_relay_free(struct ts_worker *w, struct ts_relay *r);

#endif /* TS_RELAY_H */
