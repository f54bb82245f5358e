// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Closing a connection in whatever state it is, and freeing it once the
 * batch of events that may still name it is done. Below the state machine,
 * the hand-off link and the relay: any of them may close. */
#include <stdlib.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "config.h"
#include "conn.h"
#include "relay.h"
#include "handoff_link.h"
#include "generation.h"
#include "source.h"
#include "stats.h"
#include "worker.h"

static bool in_handshake(const struct ts_conn *c)
{
	return c->state == TS_CS_WAIT_HELLO || c->state == TS_CS_HANDSHAKE;
}

void ts_conn_end_handshake(struct ts_conn *c)
{
	struct ts_worker *w = c->w;

	ev_list_del(&c->link);
	c->in_hellos = false;
	ts_source_put(c->source);
	w->inflight--;
	ts_gauge(&w->stats, TS_HG_INFLIGHT, -1);
	if (!w->accepting && !w->accept_retry && !ev_stopped(&w->loop) &&
	    w->inflight < w->gen->cfg->max_inflight)
		ts_worker_resume_accepting(w);
}

void ts_conn_close(struct ts_conn *c)
{
	struct ts_worker *w = c->w;
	enum ts_conn_state was;

	if (c->state == TS_CS_DEAD)
		return;
	/* told the proxy it would follow: it closes that upstream unused */
	ts_link_early(w, c, TS_MODE_EARLY_CANCEL);
	if (in_handshake(c))
		ts_conn_end_handshake(c);
	else
		ev_list_del(&c->link);
	if (c->state == TS_CS_HANDOFF)
		ts_gauge(&w->stats, TS_HG_HANDOFF_WAIT, -1);
	if (c->state == TS_CS_RELAY)
		ts_gauge(&w->stats, TS_HG_RELAYS, -1);
	was = c->state;
	c->state = TS_CS_DEAD;
	ev_list_add(&w->dead, &c->link, 0);
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
	struct ts_conn *c;

	while ((c = ts_conn_first(&w->dead))) {
		ev_list_del(&c->link);
		if (c->tlv) /* records mode: the secrets */
			OPENSSL_clear_free(c->tlv, (size_t)c->tlv_len);
		ts_relay_free(w, c->relay);
		ts_gen_put(c->gen);
		free(c);
	}
}
