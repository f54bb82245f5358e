// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One connection from accept to hand-off:
 *
 *   WAIT_HELLO --readable, tag read--> HANDSHAKE --Finished--> HANDOFF --sent--> (kTLS, records: gone)
 *       |  final reject tag: close            |  reject: close, no byte sent     (relay: RELAY)
 *
 * No OpenSSL object exists before the socket is readable and its tag has
 * been read, so a reject tag costs an accept, a map lookup and a close.
 * The hand-off link and the relay report what happened (handoff_link.h,
 * relay.h); the transitions and their counters are here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "connlog.h"
#include "generation.h"
#include "handoff_link.h"
#include "ktls.h"
#include "metadata.h"
#include "relay.h"
#include "records.h"
#include "resume.h"
#include "secrets.h"
#include "source.h"
#include "stats.h"
#include "tls_server.h"
#include "worker.h"

static void first_bytes(struct ts_conn *c);

/* Counts base + the decided action (ts_hs_count_action()). */
static void count_action(struct ts_conn *c, enum ts_hs_counter base)
{
	ts_hs_count_action(&c->w->stats, c->decided ? &c->d : NULL, base);
}

/* Connections looked at for one shed: the oldest are at the head, and a
 * talking client moves off the list once decided, so the first few do. */
#define TS_SHED_SCAN 64

bool ts_conn_shed_idle(struct ts_worker *w)
{
	struct ev_entry *e;
	int n = 0;

	for (e = ev_list_first(&w->hellos); e && n < TS_SHED_SCAN; e = ev_list_next(e), n++) {
		struct ts_conn *c = ts_conn_of(e);
		int queued = 0;

		if (c->state != TS_CS_WAIT_HELLO)
			continue;
		/* bytes may have arrived since the last epoll round */
		if (ioctl(c->ep.fd, FIONREAD, &queued) == 0 && queued > 0)
			continue;
		ts_count(&w->stats, TS_HC_SHED_IDLE);
		ts_connlog(c, "shed", "idle at the in-flight bound");
		ts_conn_close(c);
		return true;
	}
	return false;
}

void ts_conn_accepted(struct ts_worker *w, int fd, uint32_t source,
		      const struct sockaddr_storage *peer)
{
	struct ts_conn *c = calloc(1, sizeof(*c));
	uint64_t now = ts_now_ms();
	int queued = 0;

	if (!c) {
		ts_source_put(source);
		close(fd);
		return;
	}
	c->ep = (struct ev_io){ .kind = TS_EP_CONN, .obj = c, .fd = fd };
	c->pair = (struct ev_io){ .kind = TS_EP_PAIR, .obj = c, .fd = -1 };
	c->proxy_fd = -1;
	ts_metadata_addr_of(peer, &c->peer); /* no getpeername() later */
	c->w = w;
	c->gen = ts_gen_get(w->gen);
	c->state = TS_CS_WAIT_HELLO;
	c->source = source;
	c->accepted_ms = now;
	c->accepted_us = ts_now_us();
	c->tag_err = -ENOENT;
	/* until its ClientHello is decided, a connection has the short timeout */
	ev_list_add(&w->hellos, &c->link, now + c->gen->cfg->hello_timeout_ms);
	c->in_hellos = true;
	w->inflight++;
	ts_gauge(&w->stats, TS_HG_INFLIGHT, 1);
	ts_count(&w->stats, TS_HC_ACCEPTED);
	/* the tag is read once bytes are queued, never earlier: the program
	 * writes it while the segment is delivered, and only a queued segment
	 * proves that its write is complete. Often they already are: then no
	 * epoll round is needed. */
	if (ioctl(fd, FIONREAD, &queued) == 0 && queued > 0)
		first_bytes(c);
	else
		ts_worker_set_events(w, &c->ep, EPOLLIN);
}

/* kTLS when the kernel takes both directions (checked on the socket by
 * ts_ktls_install); else, with handoff.records, the socket and the record
 * layer's state (*rec) when the connection allows it (TLS 1.3, a suite
 * lib/tls_record.c has, nothing read ahead, no kTLS direction half on);
 * otherwise the userspace relay behind a socketpair. */
static enum ts_handoff_mode choose_mode(struct ts_conn *c, struct ts_rec_params *rec)
{
	struct ts_ktls_status st = { 0 };

	if (c->w->ktls && ts_ktls_install(c->ssl, c->ep.fd, &st) == 0)
		return TS_MODE_KTLS;
	if (!c->gen->cfg->handoff_records)
		return TS_MODE_RELAY;
	if (st.tx.by != TS_KTLS_OFF || st.rx.by != TS_KTLS_OFF) {
		c->mode_why = "kTLS on in one direction";
		return TS_MODE_RELAY;
	}
	if (ts_records_state(c->ssl, &c->records_tx, rec, &c->mode_why))
		return TS_MODE_RELAY;
	return TS_MODE_RECORDS;
}

static int start_handoff(struct ts_conn *c)
{
	struct ts_rec_params rec;
	enum ts_handoff_mode mode = choose_mode(c, &rec);
	int sp[2];

	if (!c->local.family) /* only these need them, and early connects */
		ts_metadata_addrs(c->ep.fd, &c->peer, &c->local);
	if (mode == TS_MODE_RELAY) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0)
			return -errno;
		c->pair.fd = sp[0];
		c->proxy_fd = sp[1];
	}
	c->mode = mode;
	c->tlv_len = ts_metadata_build(c->ssl, &c->d,
				       ts_config_route(c->gen->cfg, c->d.value.route_id), &c->peer,
				       &c->local, mode, mode == TS_MODE_RECORDS ? &rec : NULL, &c->tlv);
	/* the block has the only copy tagshaked still needs */
	OPENSSL_cleanse(&rec, sizeof(rec));
	ts_secrets_forget(c->ssl);
	if (c->tlv_len < 0)
		return (int)c->tlv_len;
	ev_list_add(&c->w->handoffs, &c->link, ts_now_ms() + c->gen->cfg->handoff_timeout_ms);
	ts_conn_flush_handoffs(c->w);
	/* not sent at once: nothing to read until the proxy has its end; a
	 * HUP meanwhile must not spin the loop, so the socket leaves epoll
	 * (sent at once, a relay keeps its registration: no DEL and ADD) */
	if (c->state == TS_CS_HANDOFF)
		ts_worker_set_events(c->w, &c->ep, 0);
	return 0;
}

/* What the relay reports: the end of it is counted and closes. */
static void relay_outcome(struct ts_conn *c, enum ts_relay_result r)
{
	switch (r) {
	case TS_RELAY_OPEN:
		return;
	case TS_RELAY_CLOSED:
		ts_count(&c->w->stats, TS_HC_RELAY_CLOSED);
		break;
	case TS_RELAY_ERROR:
		ts_count(&c->w->stats, TS_HC_RELAY_ERROR);
		break;
	}
	ts_conn_close(c);
}

static void handed_off(struct ts_conn *c)
{
	struct ts_hs_stats *st = &c->w->stats;

	ts_connlog(c, "ok", NULL);
	ts_count(st, TS_HC_HANDOFF_OK);
	c->early = false; /* the proxy has it */
	if (c->mode != TS_MODE_RELAY) {
		/* kTLS, records: the proxy owns the socket now; nothing stays
		 * here, and no close_notify goes out. SSL_free of a session
		 * that never shut down takes it out of the session cache as
		 * "bad": mark it shut down (no byte is sent) so that the
		 * client can resume it. */
		SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		ts_count(st, c->mode == TS_MODE_KTLS ? TS_HC_KTLS : TS_HC_RECORDS);
		ts_conn_close(c);
		return;
	}
	ts_gauge(st, TS_HG_HANDOFF_WAIT, -1);
	close(c->proxy_fd);
	c->proxy_fd = -1;
	free(c->tlv);
	c->tlv = NULL;
	ts_count(st, TS_HC_RELAY);
	ev_list_add(&c->w->relays, &c->link,
		    ts_relay_idle_deadline(ts_now_ms(), c->gen->cfg->idle_timeout_ms));
	c->state = TS_CS_RELAY;
	ts_gauge(st, TS_HG_RELAYS, 1);
	relay_outcome(c, ts_relay_start(c));
}

void ts_conn_flush_handoffs(struct ts_worker *w)
{
	struct ts_conn *c;

	while ((c = ts_conn_first(&w->handoffs))) {
		if (ts_link_send(w, c) != TS_LINK_SENT)
			return;
		handed_off(c);
	}
	ts_link_idle(w);
}

static void handshake_done(struct ts_conn *c)
{
	struct ts_hs_stats *st = &c->w->stats;
	int err;

	if (!ts_resume_bound(c->ssl, &c->d)) {
		ts_count(st, TS_HC_HANDSHAKE_FAILED);
		count_action(c, TS_HC_FAILED_NONE);
		ts_connlog(c, "failed", "session bound to another policy");
		ts_conn_close(c);
		return;
	}
	ts_count(st, TS_HC_HANDSHAKES);
	count_action(c, TS_HC_OK_NONE);
	ts_hs_stats_handshake(st, ts_now_us() - c->accepted_us);
	if (SSL_session_reused(c->ssl))
		ts_count(st, TS_HC_RESUMED);
	if (SSL_get0_peer_certificate(c->ssl) && SSL_get_verify_result(c->ssl) == X509_V_OK)
		ts_count(st, TS_HC_CLIENT_CERTS);
	ts_conn_end_handshake(c);
	/* on w->handoffs once start_handoff has its deadline */
	c->state = TS_CS_HANDOFF;
	ts_gauge(st, TS_HG_HANDOFF_WAIT, 1);
	err = start_handoff(c);
	if (err) {
		ts_count(st, TS_HC_HANDOFF_ERROR);
		ts_connlog(c, "handoff_error", strerror(-err));
		ts_conn_close(c);
	}
}

/* The ClientHello is decided: from now on the handshake timeout, counted
 * from accept. `done`: the handshake finished in the same call. */
static void hello_decided(struct ts_conn *c, bool done)
{
	if (!c->in_hellos || !c->decided)
		return;
	ev_list_add(&c->w->handshakes, &c->link,
		    c->accepted_ms + c->gen->cfg->handshake_timeout_ms);
	c->in_hellos = false;
	/* the route is known: the proxy may connect upstream meanwhile. Only
	 * for `none`, which asks nothing of the client that it could fail
	 * (docs/security.md, early connect). Pointless when the hand-off
	 * follows at once. */
	if (!done && c->gen->cfg->handoff_early_connect &&
	    c->d.value.action == TS_ACTION_NONE && c->d.value.route_id) {
		ts_metadata_addrs(c->ep.fd, &c->peer, &c->local);
		ts_link_early(c->w, c, TS_MODE_EARLY);
	}
}

static void handshake_step(struct ts_conn *c)
{
	int r = SSL_do_handshake(c->ssl);

	hello_decided(c, r == 1);

	if (r == 1) {
		handshake_done(c);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		ts_worker_set_events(c->w, &c->ep, EPOLLIN);
		return;
	case SSL_ERROR_WANT_WRITE:
		ts_worker_set_events(c->w, &c->ep, EPOLLOUT);
		return;
	case SSL_ERROR_WANT_CLIENT_HELLO_CB:
		if (c->reject) {
			/* decided in the ClientHello callback: nothing was sent */
			ts_count(&c->w->stats, TS_HC_REJECT_POLICY);
			ts_connlog(c, "reject", "clienthello");
			ts_conn_close(c);
			return;
		}
		/* no other reason to pause: a failure */
		__attribute__((fallthrough));
	default:
		ts_count(&c->w->stats, TS_HC_HANDSHAKE_FAILED);
		count_action(c, TS_HC_FAILED_NONE);
		ts_connlog(c, "failed", ERR_reason_error_string(ERR_peek_error()));
		ERR_clear_error();
		ts_conn_close(c);
	}
}

static void first_bytes(struct ts_conn *c)
{
	c->tag_err = ts_tag_read(&c->w->maps, c->ep.fd, &c->tag, ts_now_ms());
	/* a reject needs no ids: whatever generation it comes from, it stands
	 * (ts_decide() keeps a stale reject too) */
	if (!c->tag_err && c->tag.status != TS_STATUS_PENDING &&
	    c->tag.action == TS_ACTION_REJECT) {
		ts_count(&c->w->stats, TS_HC_DECIDE_REJECT);
		ts_count(&c->w->stats, TS_HC_REJECT_TAG);
		ts_connlog(c, "reject", "tag");
		ts_conn_close(c);
		return;
	}
	c->ssl = ts_tls_new(c->gen->tls);
	if (!c->ssl || ts_tls_set_conn(c->ssl, c) || !SSL_set_fd(c->ssl, c->ep.fd)) {
		ts_count(&c->w->stats, TS_HC_HANDSHAKE_FAILED);
		ts_conn_close(c);
		return;
	}
	SSL_set_accept_state(c->ssl);
	c->state = TS_CS_HANDSHAKE;
	handshake_step(c);
}

void ts_conn_event(struct ts_conn *c, uint32_t events)
{
	(void)events;
	switch (c->state) {
	case TS_CS_WAIT_HELLO:
		first_bytes(c);
		break;
	case TS_CS_HANDSHAKE:
		handshake_step(c);
		break;
	case TS_CS_HANDOFF:
		break; /* not registered while waiting */
	case TS_CS_RELAY:
		relay_outcome(c, ts_relay_event(c, &c->ep));
		break;
	case TS_CS_DEAD:
		break; /* closed earlier in this batch */
	}
}

void ts_conn_pair_event(struct ts_conn *c)
{
	/* registered only while relaying; a closed one may still be in the batch */
	if (c->state == TS_CS_RELAY)
		relay_outcome(c, ts_relay_event(c, &c->pair));
}

static void handshake_timeout(struct ts_conn *c, bool hello)
{
	ts_count(&c->w->stats, TS_HC_HANDSHAKE_TIMEOUT);
	if (hello)
		ts_count(&c->w->stats, TS_HC_HELLO_TIMEOUT);
	ts_connlog(c, "timeout", hello ? "client_hello" : NULL);
	ts_conn_close(c);
}

void ts_conn_hello_timeout(struct ev_entry *e, void *w)
{
	(void)w;
	handshake_timeout(ts_conn_of(e), true);
}

void ts_conn_handshake_timeout(struct ev_entry *e, void *w)
{
	(void)w;
	handshake_timeout(ts_conn_of(e), false);
}

void ts_conn_handoff_timeout(struct ev_entry *e, void *w)
{
	struct ts_conn *c = ts_conn_of(e);

	(void)w;
	ts_count(&c->w->stats, TS_HC_HANDOFF_TIMEOUT);
	ts_connlog(c, "handoff_timeout", NULL);
	ts_conn_close(c);
}

void ts_conn_relay_idle_timeout(struct ev_entry *e, void *w)
{
	struct ts_conn *c = ts_conn_of(e);

	(void)w;
	ts_count(&c->w->stats, TS_HC_RELAY_IDLE);
	ts_conn_close(c);
}
