/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The daemons' diagnostics on stderr ("PROG: message"), filtered by the
 * level set in the configuration (logging.level) and rate-limited: at
 * most TS_LOG_BURST identical messages a second, then one line that says
 * how many were suppressed. Shared by tagshaked and tagshake-proxy. */
#ifndef TS_LOG_H
#define TS_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum ts_log_level { TS_LOG_ERROR, TS_LOG_WARN, TS_LOG_INFO, TS_LOG_DEBUG };
#define TS_LOG_LEVEL_DEFAULT TS_LOG_INFO

/* identical messages let through per second */
#define TS_LOG_BURST 5
/* distinct messages tracked at once; more share slots (and limits) */
#define TS_RATELIMIT_SLOTS 64

/* "error" "warn" "info" "debug" */
const char *ts_log_level_name(enum ts_log_level level);

/* Once at start (prog is the line prefix) and on every configuration load. */
void ts_log_init(const char *prog);
void ts_log_set_level(enum ts_log_level level);
bool ts_log_enabled(enum ts_log_level level);

/* One line, if the level passes and the message's rate allows it. */
void ts_log(enum ts_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports the suppressed counts of past seconds (the daemons' 1 s tick),
 * so a burst that stops is still accounted for. */
void ts_log_flush(void);

/* The limiter, separate from the output for the unit test. A slot per
 * message hash; `now` is in seconds. */
struct ts_ratelimit_slot {
	uint64_t hash;
	int64_t second;
	unsigned count;      /* let through in `second` */
	unsigned suppressed; /* dropped in `second` */
};

struct ts_ratelimit {
	unsigned burst;
	struct ts_ratelimit_slot slot[TS_RATELIMIT_SLOTS];
};

/* Returns true when the message may be written: fewer than burst copies
 * of it in second `now`. Two messages on one slot in the same second share
 * the limit. Drain first, or a new second forgets the old suppressed count. */
bool ts_ratelimit_allow(struct ts_ratelimit *rl, uint64_t hash, int64_t now);

/* Calls fn(slot index, hash, suppressed) for every slot whose second is
 * over with copies suppressed, and clears them. */
void ts_ratelimit_drain(struct ts_ratelimit *rl, int64_t now,
			void (*fn)(unsigned i, uint64_t hash, unsigned suppressed, void *arg), void *arg);

uint64_t ts_log_hash(const char *s);

#endif /* TS_LOG_H */
