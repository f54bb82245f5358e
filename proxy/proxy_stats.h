/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The proxy's counters: one array per worker, summed when printed. Every
 * closed connection is counted under exactly one close reason. */
#ifndef TS_PROXY_STATS_H
#define TS_PROXY_STATS_H

#include <stdint.h>
#include <stdio.h>

enum px_counter {
	PX_HANDOFFS = 0,      /* connections received from a handshaker */
	PX_HANDOFF_BAD,       /* hand-off messages rejected (no fd, bad TLVs) */
	PX_HANDSHAKERS,       /* handshaker connections accepted */
	PX_HANDSHAKERS_REFUSED, /* closed at once: SO_PEERCRED not an allowed user */
	PX_SPLICE_DIRS,       /* directions relayed with splice */
	PX_COPY_DIRS,         /* directions relayed with read/write */
	PX_BYTES_UP,          /* client → upstream payload bytes */
	PX_BYTES_DOWN,        /* upstream → client payload bytes */
	PX_HTTP_REQUESTS,     /* request heads forwarded in http mode */
	PX_HTTP_LOCAL,        /* local answers (4xx/5xx) in http mode */
	PX_CONNECT_REFUSED,   /* upstream connect failures, by kind */
	PX_CONNECT_TIMEOUT,
	PX_CONNECT_ERROR,
	PX_UPSTREAM_READY_US, /* sum: hand-off received → upstream connected */
	PX_UPSTREAM_READY_N,
	/* the same time as a histogram: ≤16, ≤32, ≤64, ≤128, ≤256, >256 µs */
	PX_READY_LE_16US,
	PX_READY_LE_32US,
	PX_READY_LE_64US,
	PX_READY_LE_128US,
	PX_READY_LE_256US,
	PX_READY_OVER_256US,
	/* pipes: made and closed (held = opened - closed, pooled or in use);
	 * taken by a direction for a transfer and given back (in use = taken -
	 * returned) */
	PX_PIPES_OPENED,
	PX_PIPES_CLOSED,
	PX_PIPES_TAKEN,
	PX_PIPES_RETURNED,
	/* close reasons: exactly one per connection */
	PX_CLOSE_DONE,        /* both directions finished */
	PX_CLOSE_IDLE,        /* idle timeout */
	PX_CLOSE_NO_ROUTE,    /* no route for the hand-off */
	PX_CLOSE_STALE,       /* decided under a policy generation the proxy does not hold */
	PX_CLOSE_UPSTREAM_DOWN, /* connect failed (raw, proxy-v2: clean close) */
	PX_CLOSE_CLIENT_ERROR,  /* read/write error on the client side */
	PX_CLOSE_UPSTREAM_ERROR, /* read/write error on the upstream side */
	PX_CLOSE_HTTP_400,
	PX_CLOSE_HTTP_421,
	PX_CLOSE_HTTP_431,
	PX_CLOSE_HTTP_501,
	PX_CLOSE_HTTP_502,      /* connect failed in http mode */
	PX_CLOSE_BAD_META,      /* metadata the mode cannot carry (e.g. a CTL in a DN) */
	PX_CLOSE_NOMEM,
	PX_CLOSE_SHUTDOWN,      /* open when the proxy stopped */
	PX_COUNTER_COUNT,
};

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
/* A close reason's name without "close_" (done, idle, http_421...). */
const char *px_close_name(enum px_counter reason);
/* The close reason for a local HTTP status. */
enum px_counter px_close_for_status(int status);

#endif /* TS_PROXY_STATS_H */
