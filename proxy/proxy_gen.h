/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The proxy's configuration generations. Everything built from one load of
 * the file (routes, their upstream addresses, the header names to strip) is
 * one struct px_gen, named by the file's policy generation (ts_config.h).
 * A hand-off is served by the generation the handshaker decided with, or
 * not at all; SIGHUP makes a new current one and keeps the one before it
 * for the handshakes still in flight. Connections hold a reference, so a
 * generation outlives its slot while they run.
 */
#ifndef TS_PROXY_GEN_H
#define TS_PROXY_GEN_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"
#include "proxy_upstream.h"

struct px_gen {
	int refs; /* atomic: the slot plus each connection */
	struct ts_config *cfg;
	struct px_upstream *ups;   /* cfg->nroutes entries, route id - 1 */
	char **strip;              /* header names removed in http mode, NULL-terminated */
};

/* The generations the proxy serves: the current and the previous one. */
struct px_gens {
	pthread_mutex_t lock;
	struct px_gen *cur, *prev;
	long handshaker_uid; /* atomic: the current handoff.handshaker_user, -1 none */
};

/* Loads path into a new generation (refs 1). NULL with err filled. */
struct px_gen *px_gen_load(const char *path, char *err, size_t errlen);
void px_gen_put(struct px_gen *g);

void px_gens_init(struct px_gens *s, struct px_gen *first);
/* Makes g current (the slot takes the reference); the previous one stays,
 * the one before it is released. */
void px_gens_install(struct px_gens *s, struct px_gen *g);
/* The generation named `generation` with a reference for the caller, or
 * NULL when the proxy holds no such generation. */
struct px_gen *px_gens_find(struct px_gens *s, uint64_t generation);
void px_gens_free(struct px_gens *s);

#endif /* TS_PROXY_GEN_H */
