// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Counters of the handshaker, summed over workers into a status file that
 * tests and operators read ("name value" per line). */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "decision.h"
#include "stats.h"
#include "status_file.h"

#define TS_HS_NAME(id, name, fam, labels, top) name,
static const char *const counter_names[TS_HC_COUNT] = { TS_HS_COUNTERS(TS_HS_NAME) };
static const char *const gauge_names[TS_HG_COUNT] = { TS_HS_GAUGES(TS_HS_NAME) };
#undef TS_HS_NAME

const char *ts_hs_counter_name(enum ts_hs_counter c)
{
	return counter_names[c];
}

const char *ts_hs_gauge_name(enum ts_hs_gauge g)
{
	return gauge_names[g];
}

void ts_hs_stats_list(FILE *f)
{
	for (int i = 0; i < TS_HC_COUNT; i++)
		fprintf(f, "%s\n", counter_names[i]);
	for (int i = 0; i < TS_HG_COUNT; i++)
		fprintf(f, "%s\n", gauge_names[i]);
}

void ts_hs_stats_handshake(struct ts_hs_stats *s, uint64_t us)
{
	/* upper bounds of TS_HC_HS_LE_1MS ... TS_HC_HS_LE_250MS */
	static const uint64_t le_us[] = { 1000, 2000, 5000, 10000, 50000, 250000 };
	size_t b = 0;

	while (b < sizeof(le_us) / sizeof(le_us[0]) && us > le_us[b])
		b++;
	__atomic_fetch_add(&s->c[TS_HC_HS_US], us, __ATOMIC_RELAXED);
	ts_count(s, (enum ts_hs_counter)(TS_HC_HS_LE_1MS + b));
}

void ts_hs_count_action(struct ts_hs_stats *s, const struct ts_decision *d,
			enum ts_hs_counter base)
{
	unsigned a = d ? d->value.action : TS_ACTION_REJECT;

	/* the blocks are none, optional, require, request: reject never gets
	 * this far and has no slot */
	if (a == TS_ACTION_REJECT || a >= TS_ACTION_COUNT)
		return;
	ts_count(s, (enum ts_hs_counter)(base + (a == TS_ACTION_REQUEST ? 3 : a)));
}

int ts_hs_stats_write(const char *path, const char *header, struct ts_hs_stats *const *workers,
		      int nworkers)
{
	char tmp[4096];
	FILE *f = ts_status_begin(path, tmp, sizeof(tmp));
	int i, w;

	if (!f)
		return -errno;
	fputs(header, f);
	for (i = 0; i < TS_HC_COUNT; i++) {
		uint64_t sum = 0;

		for (w = 0; w < nworkers; w++)
			sum += __atomic_load_n(&workers[w]->c[i], __ATOMIC_RELAXED);
		fprintf(f, "%s %llu\n", counter_names[i], (unsigned long long)sum);
	}
	for (i = 0; i < TS_HG_COUNT; i++) {
		int64_t sum = 0;

		for (w = 0; w < nworkers; w++)
			sum += __atomic_load_n(&workers[w]->g[i], __ATOMIC_RELAXED);
		fprintf(f, "%s %lld\n", gauge_names[i], (long long)sum);
	}
	return ts_status_commit(f, tmp, path);
}
