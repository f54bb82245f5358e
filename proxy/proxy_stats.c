// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Counter names and printing for the proxy. */
#include "proxy_stats.h"

#include <errno.h>
#include <string.h>

#include "status_file.h"

static const char *const names[PX_COUNTER_COUNT] = {
	[PX_HANDOFFS] = "handoffs",
	[PX_HANDOFF_BAD] = "handoff_bad",
	[PX_HANDSHAKERS] = "handshakers",
	[PX_HANDSHAKERS_REFUSED] = "handshakers_refused",
	[PX_SPLICE_DIRS] = "splice_dirs",
	[PX_COPY_DIRS] = "copy_dirs",
	[PX_BYTES_UP] = "bytes_up",
	[PX_BYTES_DOWN] = "bytes_down",
	[PX_HTTP_REQUESTS] = "http_requests",
	[PX_HTTP_LOCAL] = "http_local",
	[PX_CONNECT_REFUSED] = "connect_refused",
	[PX_CONNECT_TIMEOUT] = "connect_timeout",
	[PX_CONNECT_ERROR] = "connect_error",
	[PX_UPSTREAM_READY_US] = "upstream_ready_us",
	[PX_UPSTREAM_READY_N] = "upstream_ready_n",
	[PX_READY_LE_16US] = "ready_le_16us",
	[PX_READY_LE_32US] = "ready_le_32us",
	[PX_READY_LE_64US] = "ready_le_64us",
	[PX_READY_LE_128US] = "ready_le_128us",
	[PX_READY_LE_256US] = "ready_le_256us",
	[PX_READY_OVER_256US] = "ready_over_256us",
	[PX_PIPES_OPENED] = "pipes_opened",
	[PX_PIPES_CLOSED] = "pipes_closed",
	[PX_PIPES_TAKEN] = "pipes_taken",
	[PX_PIPES_RETURNED] = "pipes_returned",
	[PX_CLOSE_DONE] = "close_done",
	[PX_CLOSE_IDLE] = "close_idle",
	[PX_CLOSE_NO_ROUTE] = "close_no_route",
	[PX_CLOSE_STALE] = "close_stale",
	[PX_CLOSE_UPSTREAM_DOWN] = "close_upstream_down",
	[PX_CLOSE_CLIENT_ERROR] = "close_client_error",
	[PX_CLOSE_UPSTREAM_ERROR] = "close_upstream_error",
	[PX_CLOSE_HTTP_400] = "close_http_400",
	[PX_CLOSE_HTTP_421] = "close_http_421",
	[PX_CLOSE_HTTP_431] = "close_http_431",
	[PX_CLOSE_HTTP_501] = "close_http_501",
	[PX_CLOSE_HTTP_502] = "close_http_502",
	[PX_CLOSE_BAD_META] = "close_bad_meta",
	[PX_CLOSE_NOMEM] = "close_nomem",
	[PX_CLOSE_SHUTDOWN] = "close_shutdown",
};

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
