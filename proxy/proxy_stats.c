// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Counter names and printing for the proxy. */
#include "proxy_stats.h"

#include <errno.h>
#include <string.h>

#include "status_file.h"

#define PX_NAME(id, name, fam, labels, top) name,
static const char *const names[PX_COUNTER_COUNT] = { TS_PX_COUNTERS(PX_NAME) };
#undef PX_NAME

void px_stats_list(FILE *f)
{
	for (int c = 0; c < PX_COUNTER_COUNT; c++)
		fprintf(f, "%s\n", names[c]);
}

void px_stats_print(FILE *f, struct px_stats *const *workers, int n)
{
	fputs("tagshake-proxy stats:", f);
	for (int c = 0; c < PX_COUNTER_COUNT; c++) {
		uint64_t sum = 0;
		for (int w = 0; w < n; w++)
			sum += __atomic_load_n(&workers[w]->v[c], __ATOMIC_RELAXED);
		fprintf(f, " %s=%llu", names[c], (unsigned long long)sum);
	}
	fputc('\n', f);
	fflush(f);
}

int px_stats_write(const char *path, const char *header, struct px_stats *const *workers, int n)
{
	char tmp[4096];
	FILE *f = ts_status_begin(path, tmp, sizeof(tmp));

	if (!f)
		return -errno;
	fputs(header, f);
	for (int c = 0; c < PX_COUNTER_COUNT; c++) {
		uint64_t sum = 0;
		for (int w = 0; w < n; w++)
			sum += __atomic_load_n(&workers[w]->v[c], __ATOMIC_RELAXED);
		fprintf(f, "%s %llu\n", names[c], (unsigned long long)sum);
	}
	return ts_status_commit(f, tmp, path);
}

void px_stats_ready(struct px_stats *s, uint64_t us)
{
	int b = PX_READY_LE_16US;

	for (uint64_t lim = 16; us > lim && b < PX_READY_OVER_256US; lim *= 2)
		b++;
	px_count(s, PX_UPSTREAM_READY_US, us);
	px_count(s, PX_UPSTREAM_READY_N, 1);
	px_count(s, (enum px_counter)b, 1);
}

enum px_counter px_close_for_status(int status)
{
	switch (status) {
	case 400: return PX_CLOSE_HTTP_400;
	case 421: return PX_CLOSE_HTTP_421;
	case 431: return PX_CLOSE_HTTP_431;
	case 501: return PX_CLOSE_HTTP_501;
	case 502: return PX_CLOSE_HTTP_502;
	default: return PX_CLOSE_NOMEM;
	}
}

const char *px_close_name(enum px_counter reason)
{
	static const char prefix[] = "close_";
	const char *n = names[reason];

	return strncmp(n, prefix, sizeof(prefix) - 1) ? n : n + sizeof(prefix) - 1;
}
