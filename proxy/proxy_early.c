// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Early connect (proxy_early.h): a short list per worker, in arrival order. */
#include "proxy_early.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy.h"

static bool same_addr(const struct ts_addr *a, const struct ts_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16);
}

/* Unlinks and returns the entry for this TCP connection, or NULL. */
static struct px_early *unlink_conn(struct px_worker *w, const struct ts_handoff_meta *m)
{
	for (struct px_early **p = &w->early; *p; p = &(*p)->next) {
		struct px_early *e = *p;

		if (same_addr(&e->peer, &m->peer) && same_addr(&e->local, &m->local)) {
			*p = e->next;
			w->nearly--;
			return e;
		}
	}
	return NULL;
}

/* Closes an unused upstream: nothing was ever written to it. */
static void drop(struct px_worker *w, struct px_early *e, enum px_counter why)
{
	px_count(&w->stats, why, 1);
	close(e->fd);
	px_gen_put(e->gen);
	free(e);
}

/* Opens the upstream of an early message when its policy allows it: a
 * `none` entry in the generation the handshaker decided with, on a route
 * whose connect sends nothing before the hand-off (raw, proxy-v2). */
static void open_early(struct px_worker *w, const void *link, const struct ts_handoff *h)
{
	const struct ts_handoff_meta *m = &h->meta;
	struct px_gen *g = px_gens_find(w->set->gens, m->generation);
	const struct ts_cfg_policy *pol =
		g ? ts_config_policy(g->cfg, (const char *)m->policy.p, m->policy.len) : NULL;
	const struct ts_cfg_route *route = pol ? ts_config_route(g->cfg, pol->value.route_id) : NULL;
	struct px_early *e = NULL;
	int fd;

	if (!route || pol->value.action != TS_ACTION_NONE || route->mode == TS_META_HTTP ||
	    !m->peer.family || !m->local.family || w->nearly >= PX_EARLY_MAX ||
	    !(e = calloc(1, sizeof(*e))))
		goto skip;
	fd = px_upstream_connect(&g->ups[pol->value.route_id - 1]);
	if (fd < 0)
		goto skip; /* the hand-off connects again and counts the failure */
	*e = (struct px_early){ .next = w->early, .link = link, .peer = m->peer, .local = m->local,
				.gen = g, .route_id = pol->value.route_id, .fd = fd,
				.deadline_ms = px_now_ms() + g->cfg->handshake_timeout_ms +
					       g->cfg->handoff_timeout_ms };
	w->early = e;
	w->nearly++;
	px_count(&w->stats, PX_EARLY_OPENED, 1);
	if (!w->early_timer.e.list)
		ev_timer_at(&w->loop, &w->early_timer, e->deadline_ms);
	return;
skip:
	free(e);
	px_gen_put(g);
	px_count(&w->stats, PX_EARLY_SKIPPED, 1);
}

void px_early_message(struct px_worker *w, const void *link, struct ts_handoff *h)
{
	/* a repeated announcement replaces the first */
	struct px_early *e = unlink_conn(w, &h->meta);

	if (e)
		drop(w, e, PX_EARLY_CANCELLED);
	if (h->meta.mode == TS_MODE_EARLY)
		open_early(w, link, h);
	ts_handoff_release(h);
}

int px_early_take(struct px_worker *w, const struct ts_handoff_meta *m, const struct px_gen *g,
		  unsigned route_id)
{
	struct px_early *e = w->early ? unlink_conn(w, m) : NULL;
	int fd;

	if (!e)
		return -1;
	if (e->gen != g || e->route_id != route_id) {
		/* decided otherwise after all: that upstream is not this one's */
		drop(w, e, PX_EARLY_CANCELLED);
		return -1;
	}
	fd = e->fd;
	px_count(&w->stats, PX_EARLY_USED, 1);
	px_gen_put(e->gen);
	free(e);
	return fd;
}

void px_early_link_closed(struct px_worker *w, const void *link)
{
	for (struct px_early **p = &w->early; *p;) {
		struct px_early *e = *p;

		if (link && e->link != link) {
			p = &e->next;
			continue;
		}
		*p = e->next;
		w->nearly--;
		drop(w, e, PX_EARLY_CANCELLED);
	}
}

void px_early_due(struct ev_timer *t, void *arg)
{
	struct px_worker *w = arg;
	uint64_t now = px_now_ms(), next = 0;

	(void)t;
	for (struct px_early **p = &w->early; *p;) {
		struct px_early *e = *p;

		if (e->deadline_ms > now) {
			if (!next || e->deadline_ms < next)
				next = e->deadline_ms;
			p = &e->next;
			continue;
		}
		*p = e->next;
		w->nearly--;
		drop(w, e, PX_EARLY_EXPIRED);
	}
	if (next)
		ev_timer_at(&w->loop, &w->early_timer, next);
}
