/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The handshaker's counters and gauges (listed in ts_counters.h), one set
 * per worker, summed into the status file by stats.c. */
#ifndef TS_STATS_H
#define TS_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "ts_counters.h"

#define TS_HC_ENUM(id, name, fam, labels, top) TS_HC_##id,
enum ts_hs_counter {
	TS_HS_COUNTERS(TS_HC_ENUM)
	TS_HC_COUNT,
};
#undef TS_HC_ENUM

/* Gauges: current values, per worker. */
#define TS_HG_ENUM(id, name, fam, labels, top) TS_HG_##id,
enum ts_hs_gauge {
	TS_HS_GAUGES(TS_HG_ENUM)
	TS_HG_COUNT,
};
#undef TS_HG_ENUM

struct ts_hs_stats {
	uint64_t c[TS_HC_COUNT];
	int64_t g[TS_HG_COUNT];
};

static inline void ts_count(struct ts_hs_stats *s, enum ts_hs_counter c)
{
	__atomic_fetch_add(&s->c[c], 1, __ATOMIC_RELAXED);
}

static inline void ts_gauge(struct ts_hs_stats *s, enum ts_hs_gauge g, int delta)
{
	__atomic_fetch_add(&s->g[g], delta, __ATOMIC_RELAXED);
}

const char *ts_hs_counter_name(enum ts_hs_counter c);
const char *ts_hs_gauge_name(enum ts_hs_gauge g);
/* Prints every counter's and gauge's status-file name, one a line. */
void ts_hs_stats_list(FILE *f);
/* Writes "name value" lines (plus header lines) atomically to path. */
int ts_hs_stats_write(const char *path, const char *header, struct ts_hs_stats *const *workers,
		      int nworkers);
/* Counts one completed handshake's accept → Finished time. */
void ts_hs_stats_handshake(struct ts_hs_stats *s, uint64_t us);

struct ts_decision;
/* Counts base + action (TS_HC_OK_NONE, TS_HC_FAILED_NONE,
 * TS_HC_CERTREQ_NONE) for a decision short of reject; d is NULL while the
 * connection is undecided, which counts nothing. */
void ts_hs_count_action(struct ts_hs_stats *s, const struct ts_decision *d,
			enum ts_hs_counter base);

#endif /* TS_STATS_H */
