// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One connection from accept to hand-off:
 *
 *   WAIT_HELLO --readable, tag read--> HANDSHAKE --Finished--> HANDOFF --sent--> (kTLS: gone)
 *       |  final reject tag: close            |  reject: close, no byte sent     (relay: RELAY)
 *
 * No OpenSSL object exists before the socket is readable and its tag has
 * been read, so a reject tag costs an accept, a map lookup and a close.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>

#include "connlog.h"
#include "ktls.h"
#include "worker.h"

static void addr_of(const struct sockaddr_storage *ss, struct ts_addr *a)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		a->family = 4;
		memcpy(a->addr, &in4->sin_addr, 4);
		a->port = ntohs(in4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		a->family = 6;
		memcpy(a->addr, &in6->sin6_addr, 16);
		a->port = ntohs(in6->sin6_port);
	}
}

/* The local address (the peer's came from accept4). */
static void conn_addrs(struct ts_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!c->peer.family && getpeername(c->ep.fd, (struct sockaddr *)&ss, &len) == 0)
		addr_of(&ss, &c->peer);
	len = sizeof(ss);
	if (getsockname(c->ep.fd, (struct sockaddr *)&ss, &len) == 0)
		addr_of(&ss, &c->local);
}

static bool in_handshake(const struct ts_conn *c)
{
	return c->state == TS_CS_WAIT_HELLO || c->state == TS_CS_HANDSHAKE;
}

void ts_hs_count_action(const struct ts_conn *c, enum ts_hs_counter base)
{
	unsigned a = c->d.value.action;

	/* the blocks are none, optional, require, request: reject never gets
	 * this far and has no slot */
	if (!c->decided || a == TS_ACTION_REJECT || a >= TS_ACTION_COUNT)
		return;
	ts_count(&c->w->stats, (enum ts_hs_counter)(base + (a == TS_ACTION_REQUEST ? 3 : a)));
}

/* Leaves the "handshakes in flight" set; may resume accepting. */
static void end_handshake(struct ts_conn *c)
{
	struct ts_worker *w = c->w;

	ts_list_del(&c->link);
	c->in_hellos = false;
	ts_source_put(c->source);
	w->inflight--;
	ts_gauge(&w->stats, TS_HG_INFLIGHT, -1);
	if (!w->accepting && !w->accept_retry && !w->stop &&
	    w->inflight < w->gen->cfg->max_inflight)
		ts_worker_resume_accepting(w);
}

/* Closes now; frees after the batch of events, which may still name it. */
void ts_conn_close(struct ts_conn *c)
{
	struct ts_worker *w = c->w;
	enum ts_conn_state was;

	if (c->state == TS_CS_DEAD)
		return;
	/* told the proxy it would follow: it closes that upstream unused */
	ts_link_early(c, TS_MODE_EARLY_CANCEL);
	if (in_handshake(c))
		end_handshake(c);
	else
		ts_list_del(&c->link);
	if (c->state == TS_CS_HANDOFF)
		ts_gauge(&w->stats, TS_HG_HANDOFF_WAIT, -1);
	if (c->state == TS_CS_RELAY)
		ts_gauge(&w->stats, TS_HG_RELAYS, -1);
	was = c->state;
	c->state = TS_CS_DEAD;
	ts_list_add_tail(&w->dead, &c->link);
	/* close() takes a descriptor out of epoll when it drops the last
	 * reference, which it does for every socket here but one that is on
	 * its way to the proxy (HANDOFF, already out of epoll since then):
	 * no epoll_ctl per close, a third of a reject's syscalls besides
	 * accept, the tag read and close. */
	if (was == TS_CS_HANDOFF) {
		ts_worker_set_events(w, &c->ep, 0);
		ts_worker_set_events(w, &c->pair, 0);
	}
	c->ep.events = c->pair.events = 0;
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->ep.fd >= 0)
		close(c->ep.fd);
	if (c->pair.fd >= 0)
		close(c->pair.fd);
	if (c->proxy_fd >= 0)
		close(c->proxy_fd);
	c->ep.fd = c->pair.fd = c->proxy_fd = -1;
}

void ts_conn_reap(struct ts_worker *w)
{
	while (!ts_list_empty(&w->dead)) {
		struct ts_conn *c = ts_conn_first(&w->dead);

		ts_list_del(&c->link);
		free(c->tlv);
		ts_relay_free(w, c->relay);
		ts_gen_put(c->gen);
		free(c);
	}
}

static void first_bytes(struct ts_conn *c);

/* ---- per-source bound ---- */

/* Counters for the whole daemon: 64 Ki buckets of 4 bytes. Two addresses
 * sharing a bucket share its limit: rare, and never looser. */
#define TS_SOURCE_BUCKETS 65536
static uint32_t source_count[TS_SOURCE_BUCKETS];
static uint64_t source_key;
static pthread_once_t source_once = PTHREAD_ONCE_INIT;

static void source_init(void)
{
	/* unknown to clients, so none can aim many addresses at one bucket */
	if (getrandom(&source_key, sizeof(source_key), 0) != sizeof(source_key))
		source_key = ts_now_us() ^ (uint64_t)getpid() << 32;
}

static uint64_t source_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ULL; /* the golden-ratio multiplier */
	return h ^ (h >> 29);
}

bool ts_source_take(const struct sockaddr_storage *ss, unsigned limit, uint32_t *bucket)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
	uint64_t h, a = 0;

	pthread_once(&source_once, source_init);
	h = source_mix(source_key, ss->ss_family);
	if (ss->ss_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		memcpy(&a, &in6->sin6_addr, sizeof(a)); /* the /64: one client's share */
	} else if (ss->ss_family == AF_INET6) {
		memcpy(&a, &in6->sin6_addr.s6_addr[12], 4);
	} else if (ss->ss_family == AF_INET) {
		memcpy(&a, &in4->sin_addr, 4);
	}
	h = source_mix(h, a);
	*bucket = (uint32_t)(h % TS_SOURCE_BUCKETS);
	if (__atomic_add_fetch(&source_count[*bucket], 1, __ATOMIC_RELAXED) > limit) {
		__atomic_sub_fetch(&source_count[*bucket], 1, __ATOMIC_RELAXED);
		return false;
	}
	return true;
}

void ts_source_put(uint32_t bucket)
{
	__atomic_sub_fetch(&source_count[bucket], 1, __ATOMIC_RELAXED);
}

/* Connections looked at for one shed: the oldest are at the head, and a
 * talking client moves off the list once decided, so the first few do. */
#define TS_SHED_SCAN 64

bool ts_conn_shed_idle(struct ts_worker *w)
{
	struct ts_list *l;
	int n = 0;

	for (l = w->hellos.next; l != &w->hellos && n < TS_SHED_SCAN; l = l->next, n++) {
		struct ts_conn *c = (struct ts_conn *)l;
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
	c->ep = (struct ts_ep){ .kind = TS_EP_CONN, .obj = c, .fd = fd };
	c->pair = (struct ts_ep){ .kind = TS_EP_PAIR, .obj = c, .fd = -1 };
	c->proxy_fd = -1;
	addr_of(peer, &c->peer); /* no getpeername() later */
	c->w = w;
	c->gen = ts_gen_get(w->gen);
	c->state = TS_CS_WAIT_HELLO;
	c->source = source;
	c->accepted_ms = now;
	/* until its ClientHello is decided, a connection has the short timeout */
	c->deadline_ms = now + c->gen->cfg->hello_timeout_ms;
	c->accepted_us = ts_now_us();
	c->tag_err = -ENOENT;
	ts_list_add_tail(&w->hellos, &c->link);
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
 * ts_ktls_install); otherwise the userspace relay behind a socketpair. */
static enum ts_handoff_mode choose_mode(struct ts_conn *c)
{
	struct ts_ktls_status st;

	if (c->w->ktls && ts_ktls_install(c->ssl, c->ep.fd, &st) == 0)
		return TS_MODE_KTLS;
	return TS_MODE_RELAY;
}

static int start_handoff(struct ts_conn *c)
{
	enum ts_handoff_mode mode = choose_mode(c);
	int sp[2];

	if (!c->local.family)
		conn_addrs(c); /* only connections that get this far need them */
	if (mode == TS_MODE_RELAY) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0)
			return -errno;
		c->pair.fd = sp[0];
		c->proxy_fd = sp[1];
	}
	c->tlv_len = ts_metadata_build(c->ssl, c, mode, &c->tlv);
	if (c->tlv_len < 0)
		return (int)c->tlv_len;
	c->deadline_ms = ts_now_ms() + c->gen->cfg->handoff_timeout_ms;
	ts_link_queue(c);
	/* not sent at once: nothing to read until the proxy has its end; a
	 * HUP meanwhile must not spin the loop, so the socket leaves epoll
	 * (sent at once, a relay keeps its registration: no DEL and ADD) */
	if (c->state == TS_CS_HANDOFF)
		ts_worker_set_events(c->w, &c->ep, 0);
	return 0;
}

void ts_conn_handed_off(struct ts_conn *c)
{
	struct ts_hs_stats *st = &c->w->stats;

	ts_connlog(c, "ok", NULL);
	ts_count(st, TS_HC_HANDOFF_OK);
	c->early = false; /* the proxy has it */
	if (c->proxy_fd < 0) {
		/* kTLS: the proxy owns the socket now; nothing stays here.
		 * SSL_free of a session that never shut down takes it out of
		 * the session cache as "bad": mark it shut down (no byte is
		 * sent) so that the client can resume it. */
		SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
		ts_count(st, TS_HC_KTLS);
		ts_conn_close(c);
		return;
	}
	ts_gauge(st, TS_HG_HANDOFF_WAIT, -1);
	close(c->proxy_fd);
	c->proxy_fd = -1;
	free(c->tlv);
	c->tlv = NULL;
	ts_count(st, TS_HC_RELAY);
	ts_list_del(&c->link);
	ts_list_add_tail(&c->w->relays, &c->link);
	c->state = TS_CS_RELAY;
	ts_gauge(st, TS_HG_RELAYS, 1);
	if (ts_relay_start(c) < 0) {
		ts_count(st, TS_HC_RELAY_ERROR);
		ts_conn_close(c);
	}
}

static void handshake_done(struct ts_conn *c)
{
	struct ts_hs_stats *st = &c->w->stats;
	int err;

	if (!ts_resume_bound(c->ssl, &c->d)) {
		ts_count(st, TS_HC_HANDSHAKE_FAILED);
		ts_hs_count_action(c, TS_HC_FAILED_NONE);
		ts_connlog(c, "failed", "session bound to another policy");
		ts_conn_close(c);
		return;
	}
	ts_count(st, TS_HC_HANDSHAKES);
	ts_hs_count_action(c, TS_HC_OK_NONE);
	ts_hs_stats_handshake(st, ts_now_us() - c->accepted_us);
	if (SSL_session_reused(c->ssl))
		ts_count(st, TS_HC_RESUMED);
	if (SSL_get0_peer_certificate(c->ssl) && SSL_get_verify_result(c->ssl) == X509_V_OK)
		ts_count(st, TS_HC_CLIENT_CERTS);
	end_handshake(c);
	ts_list_add_tail(&c->w->handoffs, &c->link);
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
	ts_list_del(&c->link);
	ts_list_add_tail(&c->w->handshakes, &c->link);
	c->in_hellos = false;
	c->deadline_ms = c->accepted_ms + c->gen->cfg->handshake_timeout_ms;
	/* the route is known: the proxy may connect upstream meanwhile. Only
	 * for `none`, which asks nothing of the client that it could fail
	 * (docs/security.md, early connect). Pointless when the hand-off
	 * follows at once. */
	if (!done && c->gen->cfg->handoff_early_connect &&
	    c->d.value.action == TS_ACTION_NONE && c->d.value.route_id) {
		conn_addrs(c);
		ts_link_early(c, TS_MODE_EARLY);
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
		ts_hs_count_action(c, TS_HC_FAILED_NONE);
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
		ts_relay_event(c, &c->ep);
		break;
	case TS_CS_DEAD:
		break; /* closed earlier in this batch */
	}
}

static void expire(struct ts_worker *w, struct ts_list *l, uint64_t now, bool hello)
{
	while (!ts_list_empty(l)) {
		struct ts_conn *c = ts_conn_first(l);

		if (c->deadline_ms > now)
			break;
		ts_count(&w->stats, TS_HC_HANDSHAKE_TIMEOUT);
		if (hello)
			ts_count(&w->stats, TS_HC_HELLO_TIMEOUT);
		ts_connlog(c, "timeout", hello ? "client_hello" : NULL);
		ts_conn_close(c);
	}
}

void ts_conn_timeouts(struct ts_worker *w, uint64_t now)
{
	/* one timeout per list: each is in deadline order (after a reload
	 * that shortens a timeout, or among handshakes decided out of accept
	 * order, an entry can hold later ones back by at most that timeout) */
	expire(w, &w->hellos, now, true);
	expire(w, &w->handshakes, now, false);
}
