// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Relay mode, where the kernel has no kTLS: the proxy got one end of a
 * socketpair; this worker moves plaintext between it and the TLS session on
 * the client's socket. One record-sized buffer per direction; each event
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

enum pump { PUMP_IDLE, PUMP_MOVED, PUMP_FAIL };

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

	/* gather records until the buffer is full or the socket is drained:
	 * one write to the pair (one wake-up of the proxy) per batch */
	while (!r->client_eof && !p->tls_dry && r->down_off == 0 &&
	       sizeof(r->down) - r->down_len >= SSL3_RT_MAX_PLAIN_LENGTH) {
		int got = SSL_read(c->ssl, r->down + r->down_len, (int)(sizeof(r->down) - r->down_len));

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
		n = read(c->pair.fd, r->up, sizeof(r->up));
		if (n < 0 && errno != EAGAIN)
			return PUMP_FAIL;
		/* a short read emptied the socket */
		p->pair_dry = n < 0 || (n > 0 && (size_t)n < sizeof(r->up));
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

enum ts_relay_result ts_relay_event(struct ts_conn *c)
{
	struct ts_relay *r = c->relay;
	struct ts_worker *w = c->w;
	struct pass p = { false, false };
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

enum ts_relay_result ts_relay_start(struct ts_conn *c)
{
	c->relay = calloc(1, sizeof(*c->relay));
	if (!c->relay)
		return TS_RELAY_ERROR;
	SSL_set_default_read_buffer_len(c->ssl, TS_RELAY_READ_AHEAD);
	SSL_set_read_ahead(c->ssl, 1);
	return ts_relay_event(c);
}

void ts_relay_idle_timeout(struct ev_entry *e, void *w)
{
	struct ts_conn *c = ts_conn_of(e);

	(void)w;
	ts_count(&c->w->stats, TS_HC_RELAY_IDLE);
	ts_conn_close(c);
}
