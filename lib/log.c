// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Levelled, rate-limited diagnostics on stderr. A line is built whole and
 * written with one write(2) so that lines of different threads never
 * interleave; the limiter's table is shared by all threads under a mutex
 * (error lines are rare, the lock is never on a fast path). */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static const char *prefix = "tagshake";
static enum ts_log_level max_level = TS_LOG_LEVEL_DEFAULT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ts_ratelimit limiter = { .burst = TS_LOG_BURST };
/* the text of each slot's message, for its "suppressed" line */
static char slot_text[TS_RATELIMIT_SLOTS][160];

const char *ts_log_level_name(enum ts_log_level level)
{
	return (unsigned)level <= TS_LOG_DEBUG ? level_names[level] : "?";
}

void ts_log_init(const char *prog)
{
	prefix = prog;
}

void ts_log_set_level(enum ts_log_level level)
{
	__atomic_store_n(&max_level, level, __ATOMIC_RELAXED);
}

bool ts_log_enabled(enum ts_log_level level)
{
	return level <= __atomic_load_n(&max_level, __ATOMIC_RELAXED);
}

/* FNV-1a 64 */
uint64_t ts_log_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

bool ts_ratelimit_allow(struct ts_ratelimit *rl, uint64_t hash, int64_t now)
{
	struct ts_ratelimit_slot *s = &rl->slot[hash % TS_RATELIMIT_SLOTS];

	if (s->second != now || s->count == 0)
		*s = (struct ts_ratelimit_slot){ .hash = hash, .second = now };
	if (s->count < rl->burst) {
		s->count++;
		return true;
	}
	s->suppressed++;
	return false;
}

void ts_ratelimit_drain(struct ts_ratelimit *rl, int64_t now,
			void (*fn)(unsigned i, uint64_t hash, unsigned suppressed, void *arg),
			void *arg)
{
	unsigned i;

	for (i = 0; i < TS_RATELIMIT_SLOTS; i++) {
		struct ts_ratelimit_slot *s = &rl->slot[i];

		if (s->suppressed && s->second < now) {
			fn(i, s->hash, s->suppressed, arg);
			s->suppressed = 0;
		}
	}
}

static void emit(const char *line, size_t len)
{
	/* stderr may be a closed pipe or a full disk: nothing better to do */
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}

static void report(unsigned i, uint64_t hash, unsigned suppressed, void *arg)
{
	char line[LOG_LINE_MAX];
	int n;

	(void)hash;
	(void)arg;
	n = snprintf(line, sizeof(line), "%s: suppressed %u more of: %s\n", prefix, suppressed,
		     slot_text[i]);
	emit(line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static int64_t now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void ts_log(enum ts_log_level level, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX - 64], line[LOG_LINE_MAX];
	int64_t now;
	uint64_t hash;
	va_list ap;
	bool allow;
	int n;

	if (!ts_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hash = ts_log_hash(msg);
	n = snprintf(line, sizeof(line), "%s: %s\n", prefix, msg);
	pthread_mutex_lock(&lock);
	now = now_seconds();
	ts_ratelimit_drain(&limiter, now, report, NULL);
	allow = ts_ratelimit_allow(&limiter, hash, now);
	if (allow) {
		char *text = slot_text[hash % TS_RATELIMIT_SLOTS];
		size_t len = strnlen(msg, sizeof(slot_text[0]) - 1);

		memcpy(text, msg, len); /* cut: it only names the message */
		text[len] = '\0';
		emit(line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
	pthread_mutex_unlock(&lock);
}

void ts_log_flush(void)
{
	pthread_mutex_lock(&lock);
	ts_ratelimit_drain(&limiter, now_seconds(), report, NULL);
	pthread_mutex_unlock(&lock);
}
