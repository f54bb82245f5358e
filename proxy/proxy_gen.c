// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The proxy's configuration generations (proxy_gen.h). */
#include "proxy_gen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert_headers.h"

/* Names one ts_cert_header_names() call gives: five Kong, the verify
 * status, XFCC, two RFC 9440. */
#define PX_STRIP_PER_CALL 9

/* Every name any route may set, lowercase, once each; NULL-terminated. */
struct strip_list {
	char **names;
	int n, cap;
	int err;
};

static void add_strip(void *ctx, const char *name)
{
	struct strip_list *s = ctx;

	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return;
	if (s->n == s->cap) {
		s->err = -ENOSPC; /* cap counts every call: cannot happen */
		return;
	}
	s->names[s->n] = strdup(name);
	if (!s->names[s->n])
		s->err = -ENOMEM;
	else
		s->n++;
}

/* Client copies of the certificate headers are removed on every http route,
 * whatever its style: all styles' default names and each route's own Kong
 * names, so no route's upstream can be handed a forged identity. */
static int strip_list_build(const struct ts_config *cfg, struct strip_list *s)
{
	s->cap = PX_STRIP_PER_CALL * (cfg->nroutes + 1);
	s->names = calloc((size_t)s->cap + 1, sizeof(*s->names));
	if (!s->names)
		return -ENOMEM;
	ts_cert_header_names(NULL, add_strip, s);
	for (int i = 0; i < cfg->nroutes; i++) {
		struct ts_kong_names k;

		ts_kong_names_of(&cfg->routes[i], &k);
		ts_cert_header_names(&k, add_strip, s);
	}
	return s->err;
}

static void gen_free(struct px_gen *g)
{
	if (g->strip)
		for (char **p = g->strip; *p; p++)
			free(*p);
	free(g->strip);
	free(g->ups);
	ts_config_free(g->cfg);
	free(g);
}

struct px_gen *px_gen_load(const char *path, char *err, size_t errlen)
{
	struct px_gen *g = calloc(1, sizeof(*g));
	struct strip_list strip = { 0 };

	if (!g) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->refs = 1;
	if (ts_config_load(path, &g->cfg, err, errlen) < 0) {
		free(g);
		return NULL;
	}
	g->ups = calloc((size_t)g->cfg->nroutes + 1, sizeof(*g->ups));
	if (!g->ups) {
		snprintf(err, errlen, "out of memory");
		gen_free(g);
		return NULL;
	}
	if (px_upstreams_resolve(g->cfg, g->ups, err, errlen) < 0) {
		gen_free(g);
		return NULL;
	}
	int rc = strip_list_build(g->cfg, &strip);
	g->strip = strip.names;
	if (rc < 0) {
		snprintf(err, errlen, "out of memory");
		gen_free(g);
		return NULL;
	}
	return g;
}

void px_gen_put(struct px_gen *g)
{
	if (g && __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) == 0)
		gen_free(g);
}

void px_gens_init(struct px_gens *s, struct px_gen *first)
{
	pthread_mutex_init(&s->lock, NULL);
	s->cur = first;
	s->prev = NULL;
	s->handshaker_uid = first->cfg->handoff_handshaker_uid;
}

void px_gens_install(struct px_gens *s, struct px_gen *g)
{
	struct px_gen *gone;

	pthread_mutex_lock(&s->lock);
	gone = s->prev;
	if (s->cur && s->cur->cfg->generation == g->cfg->generation) {
		/* the same policy: the new load replaces the current one (other
		 * settings may have changed), the previous one stays */
		gone = s->cur;
	} else {
		s->prev = s->cur;
	}
	s->cur = g;
	__atomic_store_n(&s->handshaker_uid, g->cfg->handoff_handshaker_uid, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->lock);
	px_gen_put(gone); /* connections still on it keep it alive */
}

struct px_gen *px_gens_find(struct px_gens *s, uint64_t generation)
{
	struct px_gen *g = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->cur && s->cur->cfg->generation == generation)
		g = s->cur;
	else if (s->prev && s->prev->cfg->generation == generation)
		g = s->prev;
	if (g)
		__atomic_fetch_add(&g->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->lock);
	return g;
}

void px_gens_free(struct px_gens *s)
{
	px_gen_put(s->cur);
	px_gen_put(s->prev);
	s->cur = s->prev = NULL;
	pthread_mutex_destroy(&s->lock);
}
