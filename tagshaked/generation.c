// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A configuration generation: the parsed file and its TLS contexts, loaded
 * by the main thread, referenced by every worker and connection using it. */
#include <stdlib.h>

#include "config.h"
#include "generation.h"
#include "log.h"
#include "tls_server.h"

struct ts_gen *ts_gen_load(const char *path, const struct ts_gen *prev, bool ktls)
{
	char err[TS_CFG_ERR_SIZE];
	struct ts_gen *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	if (ts_config_load(path, &g->cfg, err, sizeof(err))) {
		ts_log(TS_LOG_ERROR, "%s", err);
		free(g);
		return NULL;
	}
	g->tls = ts_tls_build(g->cfg, prev ? prev->tls : NULL, ktls);
	if (!g->tls) {
		ts_config_free(g->cfg);
		free(g);
		return NULL;
	}
	g->refs = 1;
	g->number = prev ? prev->number + 1 : 1;
	return g;
}

struct ts_gen *ts_gen_get(struct ts_gen *g)
{
	__atomic_fetch_add(&g->refs, 1, __ATOMIC_RELAXED);
	return g;
}

void ts_gen_put(struct ts_gen *g)
{
	if (!g || __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	ts_tls_free(g->tls);
	ts_config_free(g->cfg);
	free(g);
}
