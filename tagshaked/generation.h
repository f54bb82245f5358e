/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Everything built from one configuration (generation.c): loaded at start
 * and on SIGHUP, shared by the workers and the connections that hold it,
 * freed with its last reference. */
#ifndef TS_GENERATION_H
#define TS_GENERATION_H

#include <stdbool.h>

struct ts_config;
struct ts_tls;

struct ts_gen {
	int refs; /* atomic: main thread + workers + connections holding it */
	unsigned number;
	struct ts_config *cfg;
	struct ts_tls *tls;
};

/* Loads path and builds its TLS contexts; prev (may be NULL) is the
 * generation it replaces: its number + 1, its ticket keys. Logs and returns
 * NULL on failure. The caller holds the one reference. */
struct ts_gen *ts_gen_load(const char *path, const struct ts_gen *prev, bool ktls);
struct ts_gen *ts_gen_get(struct ts_gen *g);
void ts_gen_put(struct ts_gen *g);

#endif /* TS_GENERATION_H */
