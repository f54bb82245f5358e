// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Relay mode, where the kernel has no kTLS: the proxy got one end of a
 * socketpair; this worker moves plaintext between it and the TLS session on
 * the client's socket. A buffer per direction while bytes are in flight
 * (from a small per-worker pool; an idle relay holds none); each event
 * pumps until nothing moves, then sets the interest of both sockets from
 * what is blocked. Half-closes pass through: client close_notify/EOF →
 * SHUT_WR on the pair; proxy EOF → close_notify and SHUT_WR to the client.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "generation.h"
#include "relay.h"
#include "stats.h"
#include "worker.h"

/* OpenSSL's read buffer in relay mode, with read-ahead: one recv takes up
 * to four full records (nginx reads ahead too) instead of a header read and
 * a body read per record. SSL_MODE_RELEASE_BUFFERS frees it when drained, so
 * an idle relay does not keep it. */
#define TS_RELAY_READ_AHEAD (4 * (SSL3_RT_MAX_PLAIN_LENGTH + SSL3_RT_MAX_ENCRYPTED_OVERHEAD))

/* Plaintext from the proxy per read: SSL_write() cuts it into records and
 * writes each one on its own anyway, so a larger read saves no syscall
 * and only takes the buffer out of the cache before it is encrypted. */
#define TS_RELAY_UP_READ 65536

enum pump { PUMP_IDLE, PUMP_MOVED, PUMP_FAIL };

/* A relay buffer from the worker's pool, or a new one. */
static uint8_t *buf_get(struct ts_worker *w)
{
	if (w->relay_pooled)
		return w->relay_pool[--w->relay_pooled];
	return malloc(TS_RELAY_BUF);
}

/* Gives a drained buffer back: to the pool while it has room and the
 * worker is not stopping, else to malloc. */
static void buf_put(struct ts_worker *w, uint8_t **b)
{
	if (!*b)
		return;
	if (w->relay_pooled < TS_RELAY_POOL && !ev_stopped(&w->loop))
		w->relay_pool[w->relay_pooled++] = *b;
	else
		free(*b);
	*b = NULL;
}

/* What one event learned: a source that said it has nothing more is not
 * read again in this event (epoll is level-triggered and reports it again
 * when more arrives), which saves an EAGAIN read per pass. */
struct pass {
	bool tls_dry, pair_dry;
};

static enum pump tls_to_pair(struct ts_conn *c, struct pass *p)
{
	struct ts_relay *r = c->relay;
	enum pump res = PUMP_IDLE;
	ssize_t n;

	if (!r->down && !r->client_eof && !p->tls_dry && !(r->down = buf_get(c->w)))
		return PUMP_FAIL;
	/* gather records until the buffer is full or the socket is drained:
	 * one write to the pair (one wake-up of the proxy) per batch */
	while (!r->client_eof && !p->tls_dry && r->down_off == 0 &&
	       TS_RELAY_BUF - r->down_len >= SSL3_RT_MAX_PLAIN_LENGTH) {
		int got = SSL_read(c->ssl, r->down + r->down_len, (int)(TS_RELAY_BUF - r->down_len));

		if (got > 0) {
			r->down_len += (size_t)got;
			res = PUMP_MOVED;
			continue;
		} else {
			switch (SSL_get_error(c->ssl, got)) {
			case SSL_ERROR_WANT_READ: p->tls_dry = true; break;
			case SSL_ERROR_WANT_WRITE: r->tls_want_write = true; break;
			case SSL_ERROR_ZERO_RETURN: r->client_eof = true; res = PUMP_MOVED; break;
			default: return PUMP_FAIL;
			}
			break;
		}
	}
	if (r->down_off < r->down_len) {
		n = write(c->pair.fd, r->down + r->down_off, r->down_len - r->down_off);
		if (n < 0 && errno != EAGAIN)
			return PUMP_FAIL;
		if (n > 0) {
			r->down_off += (size_t)n;
			res = PUMP_MOVED;
		}
		if (r->down_off == r->down_len)
			r->down_len = r->down_off = 0;
	}
	if (r->down_len == 0)
		buf_put(c->w, &r->down);
	if (r->client_eof && r->down_len == 0 && !r->pair_shut) {
		shutdown(c->pair.fd, SHUT_WR);
		r->pair_shut = true;
	}
	return res;
}

static enum pump pair_to_tls(struct ts_conn *c, struct pass *p)
{
	struct ts_relay *r = c->relay;
	enum pump res = PUMP_IDLE;
	ssize_t n;

	if (!r->proxy_eof && !p->pair_dry && r->up_len == 0) {
		if (!r->up && !(r->up = buf_get(c->w)))
			return PUMP_FAIL;
		n = read(c->pair.fd, r->up, TS_RELAY_UP_READ);
		if (n < 0 && errno != EAGAIN)
			return PUMP_FAIL;
		/* a short read emptied the socket */
		p->pair_dry = n < 0 || (n > 0 && (size_t)n < TS_RELAY_UP_READ);
		if (n == 0)
			r->proxy_eof = true;
		if (n >= 0) {
			r->up_len = (size_t)n;
			r->up_off = 0;
			res = PUMP_MOVED;
		}
	}
	if (r->up_off < r->up_len) {
		int put = SSL_write(c->ssl, r->up + r->up_off, (int)(r->up_len - r->up_off));

		r->tls_want_write = false;
		if (put > 0) {
			r->up_off += (size_t)put;
			res = PUMP_MOVED;
		} else if (SSL_get_error(c->ssl, put) == SSL_ERROR_WANT_WRITE) {
			r->tls_want_write = true;
		} else if (SSL_get_error(c->ssl, put) != SSL_ERROR_WANT_READ) {
			return PUMP_FAIL;
		}
		if (r->up_off == r->up_len)
			r->up_len = r->up_off = 0;
	}
	if (r->up_len == 0)
		buf_put(c->w, &r->up);
	if (r->proxy_eof && r->up_len == 0 && !r->shut_sent) {
		SSL_shutdown(c->ssl); /* close_notify; the client's answer is not awaited */
		shutdown(c->ep.fd, SHUT_WR);
		r->shut_sent = true;
	}
	return res;
}

static void set_interest(struct ts_conn *c)
{
	struct ts_relay *r = c->relay;
	uint32_t tcp = 0, pair = 0;

	if (!r->client_eof && r->down_len == 0)
		tcp |= EPOLLIN;
	if (r->tls_want_write)
		tcp |= EPOLLOUT;
	if (!r->proxy_eof && r->up_len == 0)
		pair |= EPOLLIN;
	if (r->down_len)
		pair |= EPOLLOUT;
	ts_worker_set_events(c->w, &c->ep, tcp);
	ts_worker_set_events(c->w, &c->pair, pair);
}

/* Pumps both directions until nothing moves; p says which sources are
 * known to be empty already. */
static enum ts_relay_result relay_run(struct ts_conn *c, struct pass p)
{
	struct ts_relay *r = c->relay;
	struct ts_worker *w = c->w;
	enum pump a, b;

	do {
		a = tls_to_pair(c, &p);
		b = a == PUMP_FAIL ? PUMP_FAIL : pair_to_tls(c, &p);
	} while (a == PUMP_MOVED || b == PUMP_MOVED);
	if (a == PUMP_FAIL || b == PUMP_FAIL) {
		ERR_clear_error();
		/* after the client's EOF, a failed write is its reset: a close */
		return r->client_eof ? TS_RELAY_CLOSED : TS_RELAY_ERROR;
	}
	if (r->client_eof && r->proxy_eof && !r->down_len && !r->up_len)
		return TS_RELAY_CLOSED;
	/* LRU: the list head is the longest idle */
	ev_list_add(&w->relays, &c->link,
		    ts_relay_idle_deadline(ts_now_ms(), c->gen->cfg->idle_timeout_ms));
	set_interest(c);
	return TS_RELAY_OPEN;
}

enum ts_relay_result ts_relay_event(struct ts_conn *c, const struct ev_io *io)
{
	/* Only the socket that fired is read at first: epoll is
	 * level-triggered and reports the other one too when it has bytes
	 * and we watch it for them (in this batch or the next), so reading
	 * it now would mostly be an EAGAIN (on the TCP side, unless OpenSSL
	 * holds bytes read ahead). */
	return relay_run(c, (struct pass){ .tls_dry = io == &c->pair && (c->ep.events & EPOLLIN) &&
						      !SSL_has_pending(c->ssl),
					   .pair_dry = io == &c->ep && (c->pair.events & EPOLLIN) });
}

enum ts_relay_result ts_relay_start(struct ts_conn *c)
{
	c->relay = calloc(1, sizeof(*c->relay));
	if (!c->relay)
		return TS_RELAY_ERROR;
	SSL_set_default_read_buffer_len(c->ssl, TS_RELAY_READ_AHEAD);
	SSL_set_read_ahead(c->ssl, 1);
	/* Right after the hand-off: what OpenSSL read ahead past Finished is
	 * what SSL_has_pending() says (processed or not), and epoll
	 * (level-triggered) reports whatever is queued on either socket, so
	 * reading now would mostly find EAGAIN twice before the proxy gets
	 * the CPU. */
	return relay_run(c, (struct pass){ .tls_dry = !SSL_has_pending(c->ssl), .pair_dry = true });
}

void ts_relay_free(struct ts_worker *w, struct ts_relay *r)
{
	if (!r)
		return;
	buf_put(w, &r->up);
	buf_put(w, &r->down);
	free(r);
	/* a stopping worker keeps nothing for later */
	if (ev_stopped(&w->loop))
		while (w->relay_pooled)
			free(w->relay_pool[--w->relay_pooled]);
}
