/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The proxy's counters: one array per worker, summed when printed. Every
 * closed connection is counted under exactly one close reason. */
#ifndef TS_PROXY_STATS_H
#define TS_PROXY_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "ts_counters.h"

#define PX_ENUM(id, name, fam, labels, top) PX_##id,
enum px_counter {
	TS_PX_COUNTERS(PX_ENUM)
	PX_COUNTER_COUNT,
};
#undef PX_ENUM

struct px_stats {
	uint64_t v[PX_COUNTER_COUNT];
};

static inline void px_count(struct px_stats *s, enum px_counter c, uint64_t n)
{
	__atomic_fetch_add(&s->v[c], n, __ATOMIC_RELAXED);
}

/* Counts one hand-off → upstream-connected time. */
void px_stats_ready(struct px_stats *s, uint64_t us);

/* Prints "name=value" for every counter summed over n workers, one line. */
void px_stats_print(FILE *f, struct px_stats *const *workers, int n);
/* Writes header, then "name value" per counter, summed, to path (through
 * a fresh temporary and a rename, status_file.h); -errno on failure. */
int px_stats_write(const char *path, const char *header, struct px_stats *const *workers, int n);
/* Prints every counter's status-file name, one a line. */
void px_stats_list(FILE *f);
/* A close reason's name without "close_" (done, idle, http_421...). */
const char *px_close_name(enum px_counter reason);
/* The close reason for a local HTTP status. */
enum px_counter px_close_for_status(int status);

#endif /* TS_PROXY_STATS_H */
