// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One proxied connection: from the hand-off to the last byte. Both
 * directions are pumped on every event until they would block; interest in
 * epoll follows what each side can do next, so a full buffer stops reading
 * (backpressure) and an fd with nothing to do leaves epoll. Each direction
 * ends with shutdown(SHUT_WR) on its destination once its source reached
 * EOF and everything was written (half-close both ways).
 */
#include "proxy.h"
#include "proxy_connlog.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "h2_conn.h"
#include "http_inject.h"
#include "log.h"
#include "proxy_mode.h"

/* Room for a local answer (ts_http_local_response). */
#define PX_LOCAL_RESPONSE_MAX 256
/* Bytes read and dropped per call after a local answer. */
#define PX_DISCARD_BUF 4096

static void step(struct px_conn *c);
static bool connect_done(struct px_conn *c, bool known_ok);
static bool connected_now(int fd);

static enum px_counter connect_counter(int err)
{
	if (err == ECONNREFUSED || err == ENOENT)
		return PX_CONNECT_REFUSED;
	if (err == ETIMEDOUT)
		return PX_CONNECT_TIMEOUT;
	return PX_CONNECT_ERROR;
}

static void touch(struct px_conn *c)
{
	px_list_remove(c);
	px_list_append(&c->w->idle, c, px_now_ms() + c->w->set->idle_timeout_ms);
}

static void drop_upstream(struct px_conn *c)
{
	if (c->upstream.fd >= 0) {
		px_ep_update(c->w, &c->upstream, 0);
		close(c->upstream.fd);
		c->upstream.fd = -1;
	}
	c->down.read_eof = true;
	c->up.read_eof = true;
	c->up.shut = true;
	if (c->state == PX_CONNECTING) {
		/* nothing to wait for any more: from now on only the idle timeout */
		c->state = PX_RELAYING;
		touch(c);
	}
}

/* The proxy answers this request itself: stop forwarding; what went
 * upstream before still gets its responses first, then the answer. */
static void set_local(struct px_conn *c, int status)
{
	c->local_status = status;
	c->up.read_eof = true;
	px_count(&c->w->stats, PX_HTTP_LOCAL, 1);
	if (c->upstream.fd < 0 || (ts_http_inject_requests(c->http) == 0 && !px_dir_pending(&c->up)))
		drop_upstream(c);
}

static void connect_failed(struct px_conn *c, int err)
{
	px_count(&c->w->stats, connect_counter(err), 1);
	if (c->route->mode != TS_META_HTTP) {
		px_conn_close(c, PX_CLOSE_UPSTREAM_DOWN);
		return;
	}
	drop_upstream(c);
	set_local(c, 502);
	step(c);
}

/* The generation the handshaker decided with, or NULL: counted and logged,
 * never served by another one (its routes and Host checks could be
 * looser or stricter than what the handshake asked of the client). */
static struct px_gen *handoff_generation(struct px_worker *w, const struct ts_handoff *h)
{
	struct px_gen *g = px_gens_find(w->set->gens, h->meta.generation);

	if (!g) {
		px_count(&w->stats, PX_CLOSE_STALE, 1);
		px_connlog_refused(&h->meta, "stale");
		ts_log(TS_LOG_WARN, "hand-off refused: policy generation %016llx is not loaded",
		       (unsigned long long)h->meta.generation);
	}
	return g;
}

static enum px_counter mode_counter(uint8_t mode)
{
	switch (mode) {
	case TS_MODE_KTLS:
		return PX_MODE_KTLS;
	case TS_MODE_RECORDS:
		return PX_MODE_RECORDS;
	default:
		return PX_MODE_RELAY;
	}
}

/* Refuses a records hand-off whose record layer cannot be built: counted,
 * logged with why. */
static void records_refused(struct px_worker *w, const struct ts_handoff *h, const char *why)
{
	px_count(&w->stats, PX_CLOSE_RECORDS_REFUSED, 1);
	px_connlog_refused(&h->meta, "records_refused");
	ts_log(TS_LOG_WARN, "hand-off refused: records mode with %s (suite 0x%04x)", why,
	       h->records.suite);
}

/* The client's transport for the hand-off's mode, on its fd (taken on
 * success): the record layer built from the hand-off's secrets in records
 * mode (the secrets are cleansed here either way), else the plain fd.
 * Returns 0, or a negative errno once refused and counted. */
static int client_transport(struct px_worker *w, struct ts_handoff *h, struct px_client_io *io)
{
	int rc = 0;

	if (h->meta.mode != TS_MODE_RECORDS) {
		px_cio_init_plain(io, h->fd);
	} else if (!ts_rec_suite_supported(h->records.suite)) {
		records_refused(w, h, "a cipher suite the record layer does not take");
		rc = -EPROTONOSUPPORT;
	} else {
		rc = px_cio_init_records(io, h->fd, &h->records);
		if (rc == -EINVAL) {
			records_refused(w, h, "secrets that do not fit the suite");
		} else if (rc) {
			px_count(&w->stats, PX_CLOSE_NOMEM, 1);
			px_connlog_refused(&h->meta, "nomem");
		}
	}
	OPENSSL_cleanse(&h->records, sizeof(h->records));
	if (!rc)
		h->fd = -1;
	return rc;
}

void px_conn_start(struct px_worker *w, struct ts_handoff *h)
{
	struct px_gen *g;
	const struct ts_cfg_policy *pol;
	const struct ts_cfg_route *route;
	struct px_client_io cio;
	struct px_conn *c;
	unsigned rid;
	int ufd, rc, one = 1;

	px_count(&w->stats, PX_HANDOFFS, 1);
	g = handoff_generation(w, h);
	if (!g) {
		ts_handoff_release(h);
		return;
	}
	if (client_transport(w, h, &cio)) {
		ts_handoff_release(h);
		px_gen_put(g);
		return;
	}
	/* the entry that decided, by name, in the generation that decided:
	 * no lookup of our own that could land elsewhere */
	pol = ts_config_policy(g->cfg, (const char *)h->meta.policy.p, h->meta.policy.len);
	rid = pol ? pol->value.route_id : 0;
	route = ts_config_route(g->cfg, rid);
	c = route ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		px_count(&w->stats, route ? PX_CLOSE_NOMEM : PX_CLOSE_NO_ROUTE, 1);
		px_connlog_refused(&h->meta, route ? "nomem" : "no_route");
		px_cio_close(&cio);
		ts_handoff_release(h);
		px_gen_put(g);
		return;
	}
	c->gen = g;
	c->w = w;
	c->start_us = px_now_us();
	c->route = route;
	c->policy = pol;
	c->log = px_connlog_new(&h->meta, route, c->start_us);
	c->cio = cio;
	c->client = (struct ev_io){ .kind = PX_EP_CLIENT, .fd = cio.fd, .obj = c };
	px_count(&w->stats, mode_counter(h->meta.mode), 1);
	int fl = fcntl(c->client.fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK)) /* tagshaked's sockets already are */
		fcntl(c->client.fd, F_SETFL, fl | O_NONBLOCK);
	/* kTLS and records modes hand over the TCP socket: small answers must
	 * not wait for the client's delayed ACK (a relay socketpair has no
	 * Nagle) */
	if (h->meta.mode != TS_MODE_RELAY)
		setsockopt(c->client.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	w->conns++;
	if (route->mode == TS_META_HTTP && px_h2_alpn(h)) {
		/* HTTP/2: an upstream connection per stream, none for c itself */
		c->upstream = (struct ev_io){ .kind = PX_EP_UPSTREAM, .fd = -1, .obj = c };
		c->up.pipe_rd = c->up.pipe_wr = c->down.pipe_rd = c->down.pipe_wr = -1;
		c->state = PX_RELAYING;
		rc = px_h2_start(c, h);
		ts_handoff_release(h);
		if (rc)
			px_conn_close(c, rc == -ENOMEM ? PX_CLOSE_NOMEM : PX_CLOSE_BAD_META);
		return;
	}
	/* opened while the handshake finished, or now */
	ufd = px_early_take(w, &h->meta, g, rid);
	if (ufd < 0)
		ufd = px_upstream_connect(&g->ups[rid - 1]);
	c->upstream = (struct ev_io){ .kind = PX_EP_UPSTREAM, .fd = ufd < 0 ? -1 : ufd, .obj = c };
	/* no pipe and no buffer until bytes arrive: an idle connection holds
	 * its two sockets and nothing else */
	w->pipes.stats = &w->stats;
	px_dir_init_up(&c->up, &c->cio, c->upstream.fd, &w->pipes,
		       w->set->splice && route->mode != TS_META_HTTP);
	px_dir_init_down(&c->down, c->upstream.fd, &c->cio, &w->pipes, w->set->splice);
	rc = px_mode_setup(c, h);
	ts_handoff_release(h);
	if (rc) {
		px_conn_close(c, rc == -ENOMEM ? PX_CLOSE_NOMEM : PX_CLOSE_BAD_META);
		return;
	}
	px_count(&w->stats, px_dir_spliced(&c->up) ? PX_SPLICE_DIRS : PX_COPY_DIRS, 1);
	px_count(&w->stats, px_dir_spliced(&c->down) ? PX_SPLICE_DIRS : PX_COPY_DIRS, 1);
	if (ufd < 0) {
		connect_failed(c, -ufd);
		return;
	}
	c->state = PX_CONNECTING;
	px_list_append(&w->connecting, c, px_now_ms() + w->set->connect_timeout_ms);
	if (connected_now(ufd) && !connect_done(c, true))
		return;
	step(c);
}

void px_conn_close(struct px_conn *c, enum px_counter reason)
{
	struct px_worker *w = c->w;

	px_count(&w->stats, reason, 1);
	if (c->http)
		px_count(&w->stats, PX_HTTP_REQUESTS, ts_http_inject_requests(c->http));
	px_connlog_close(c->log, px_close_name(reason),
			 c->http ? (long)ts_http_inject_requests(c->http) : -1, px_now_us());
	c->log = NULL;
	drop_upstream(c); /* before leaving the timer lists: it may touch() */
	px_list_remove(c);
	px_ep_update(w, &c->client, 0);
	px_cio_close(&c->cio);
	c->client.fd = -1;
	px_dir_free(&c->up);
	px_dir_free(&c->down);
	ts_http_inject_free(c->http);
	c->http = NULL;
	px_h2_free(c);
	w->conns--;
	/* later events of this epoll batch may still name c: free it after */
	c->closed = true;
	c->next_dead = w->dead;
	w->dead = c;
}

/* After a local answer the client's input is read and dropped, so that
 * closing does not reset the connection under the answer. */
static int discard_client(struct px_conn *c)
{
	char junk[PX_DISCARD_BUF];

	while (!c->client_eof) {
		ssize_t n = px_cio_recv(&c->cio, junk, sizeof(junk));
		if (n == 0)
			c->client_eof = true;
		else if (n < 0)
			return errno == EAGAIN ? 0 : -1;
	}
	return 0;
}

static void update_interest(struct px_conn *c)
{
	uint32_t ce = 0, ue = 0;

	if (c->local_status ? !c->client_eof : px_dir_wants_read(&c->up))
		ce |= EPOLLIN;
	/* toward the client only once connected: before, only the client's
	 * transport can hold output (a TLS KeyUpdate answer), and it waits */
	if (c->state == PX_RELAYING && px_dir_pending(&c->down))
		ce |= EPOLLOUT;
	if (c->state == PX_CONNECTING) {
		ue = EPOLLOUT;
	} else {
		if (px_dir_wants_read(&c->down))
			ue |= EPOLLIN;
		if (px_dir_pending(&c->up))
			ue |= EPOLLOUT;
	}
	px_ep_update(c->w, &c->client, ce);
	if (c->upstream.fd >= 0)
		px_ep_update(c->w, &c->upstream, ue);
}

/* Ends each direction whose source is done and whose bytes are written.
 * Returns true when a local answer was just queued (pump again). */
static bool half_close(struct px_conn *c)
{
	if (c->state == PX_RELAYING && c->upstream.fd >= 0 && !c->up.shut && px_dir_drained(&c->up)) {
		shutdown(c->upstream.fd, SHUT_WR);
		c->up.shut = true;
	}
	if (c->down.shut || !px_dir_drained(&c->down))
		return false;
	if (c->local_status && !c->local_queued) {
		char resp[PX_LOCAL_RESPONSE_MAX];
		size_t n = ts_http_local_response(c->local_status, resp, sizeof(resp));
		c->local_queued = true;
		return px_dir_queue(&c->down, resp, n) == 0;
	}
	px_cio_shutdown_write(&c->cio);
	c->down.shut = true;
	return false;
}

/* Everything for the client was written and its write side is shut (the
 * transport may still hold the end of the stream, e.g. TLS close_notify). */
static bool client_written(const struct px_conn *c)
{
	return c->down.shut && !px_dir_pending(&c->down);
}

static void step(struct px_conn *c)
{
	struct px_stats *st = &c->w->stats;

	do {
		if (c->local_status && discard_client(c)) {
			px_conn_close(c, PX_CLOSE_CLIENT_ERROR);
			return;
		}
		ssize_t up = c->up.read_eof && !px_dir_pending(&c->up)
				     ? 0
				     : px_dir_pump(&c->up, c->state == PX_RELAYING && c->upstream.fd >= 0);
		if (up < 0) {
			px_conn_close(c, c->up.err_to ? PX_CLOSE_UPSTREAM_ERROR : PX_CLOSE_CLIENT_ERROR);
			return;
		}
		if (c->up.status && !c->local_status)
			set_local(c, c->up.status);
		/* the upstream socket is readable only once connected */
		ssize_t down = c->state == PX_RELAYING ? px_dir_pump(&c->down, true) : 0;
		if (down < 0) {
			px_conn_close(c, c->down.err_to ? px_client_write_failed(c) : PX_CLOSE_UPSTREAM_ERROR);
			return;
		}
		px_count(st, PX_BYTES_UP, (uint64_t)up);
		px_count(st, PX_BYTES_DOWN, (uint64_t)down);
		if (c->log)
			px_connlog_bytes(c->log, (uint64_t)up, (uint64_t)down);
		if (up > 0 || down > 0)
			touch(c);
	} while (half_close(c));
	if (client_written(c) && (c->local_status ? c->client_eof : c->up.shut)) {
		px_conn_close(c, c->local_status ? px_close_for_status(c->local_status) : PX_CLOSE_DONE);
		return;
	}
	update_interest(c);
}

/* Ends the connecting state once the upstream answered (known_ok: poll
 * said writable and nothing else, so SO_ERROR is 0). Returns false when
 * the connection is gone (connect failed and was closed or answered). */
static bool connect_done(struct px_conn *c, bool known_ok)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (!known_ok && getsockopt(c->upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		connect_failed(c, err);
		return false;
	}
	c->state = PX_RELAYING;
	px_stats_ready(&c->w->stats, px_now_us() - c->start_us);
	touch(c);
	return true;
}

/* A loopback or unix upstream has usually completed the connect before
 * connect() returned: skip the epoll round trip then. */
static bool connected_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && p.revents == POLLOUT;
}

void px_conn_event(struct px_conn *c, const struct ev_io *ep, uint32_t events)
{
	if (c->h2) {
		px_h2_event(c, (struct ev_io *)ep, events);
		return;
	}
	if (c->state == PX_CONNECTING && ep == &c->upstream && !connect_done(c, false))
		return;
	step(c);
}

void px_conn_timeout(struct ev_entry *e, void *w)
{
	struct px_conn *c = px_conn_of(e);

	(void)w;
	if (c->h2) {
		px_h2_idle(c);
		return;
	}
	if (c->state == PX_CONNECTING) {
		connect_failed(c, ETIMEDOUT);
		return;
	}
	if (c->local_status && c->down.shut) {
		/* the answer went out; the client just kept its side open */
		px_conn_close(c, px_close_for_status(c->local_status));
		return;
	}
	px_conn_close(c, PX_CLOSE_IDLE);
}
